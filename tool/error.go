package tool

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is a tool failure the model should see (the seed's
// ToolExecutionError): bad arguments, a failed lookup, a division by zero.
// It is data for the model, not an infrastructure failure: [Invoke] turns it
// into a failed [retrain.ToolResult] whose Error is the text of Error().
type Error struct {
	// Tool is the name of the tool that failed; it may be empty when the
	// error is made before the tool is known (see [Errorf]).
	Tool string
	// Message says what went wrong, phrased so the model can fix its call.
	Message string
	// Err is the underlying cause, if any; it is not shown to the model
	// unless Message is empty.
	Err error
}

// Errorf returns an *Error whose Message is formatted from format and args.
// A %w verb is allowed: the wrapped error becomes Err.
//
//	return "", tool.Errorf("no city named %q; try a nearby larger city", city)
func Errorf(format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Message: err.Error()}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = u.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = errors.Join(u.Unwrap()...)
	}
	return e
}

// Error returns `tool "NAME": MESSAGE`, or just the message when Tool is empty.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = "tool call failed"
	}
	if e.Tool == "" {
		return msg
	}
	return "tool " + strconv.Quote(e.Tool) + ": " + msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }
