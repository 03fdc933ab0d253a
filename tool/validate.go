package tool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Validator checks a tool's arguments against the JSON Schema of its
// parameters and reports every problem at once, so that the model can fix
// its whole call in one try. It is safe for concurrent use.
type Validator struct {
	schema *jsonschema.Schema
	// raw is the decoded schema, used to name the allowed properties when
	// the model sends an unknown one.
	raw any
}

// printer renders the messages of the validation library in English.
var printer = message.NewPrinter(language.English)

// NewValidator compiles schema. An empty schema accepts any JSON value.
// References ($ref) may point only inside the schema itself: nothing is
// loaded from files or the network.
func NewValidator(schema json.RawMessage) (*Validator, error) {
	if len(bytes.TrimSpace(schema)) == 0 {
		schema = json.RawMessage(`{}`)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("tool: the schema is not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	const loc = "tool-parameters.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("tool: adding schema: %w", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("tool: invalid JSON Schema: %w", err)
	}
	return &Validator{schema: s, raw: doc}, nil
}

// noLoader refuses to load schemas from outside.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %s: only references inside the schema are supported", url)
}

// Validate checks args, a JSON value (empty means {}). It returns nil, or an
// *Error whose Message lists every problem with its JSON path, e.g.
//
//	invalid arguments: at /expression: missing required property; at /precision: expected integer, got string
func (v *Validator) Validate(args json.RawMessage) error {
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage(`{}`)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return &Error{
			Message: fmt.Sprintf("invalid arguments: not valid JSON (%v); send the arguments as one JSON object", err),
			Err:     err,
		}
	}
	err = v.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &Error{Message: "invalid arguments: " + err.Error(), Err: err}
	}
	var problems []string
	v.collect(ve, &problems)
	slices.Sort(problems)
	problems = slices.Compact(problems)
	if len(problems) == 0 {
		problems = []string{ve.Error()}
	}
	return &Error{Message: "invalid arguments: " + strings.Join(problems, "; "), Err: err}
}

// collect appends one line per leaf problem of e.
func (v *Validator) collect(e *jsonschema.ValidationError, out *[]string) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			v.collect(c, out)
		}
		return
	}
	at := func(path []string) string {
		if len(path) == 0 {
			return "at (root)"
		}
		return "at " + pointer(path)
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			*out = append(*out, at(append(slices.Clone(e.InstanceLocation), name))+": missing required property")
		}
	case *kind.AdditionalProperties:
		allowed := v.allowed(e.InstanceLocation)
		for _, name := range k.Properties {
			msg := at(append(slices.Clone(e.InstanceLocation), name)) + ": unknown property"
			if len(allowed) > 0 {
				msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
			}
			*out = append(*out, msg)
		}
	case *kind.Type:
		*out = append(*out, fmt.Sprintf("%s: expected %s, got %s", at(e.InstanceLocation), strings.Join(k.Want, " or "), k.Got))
	case *kind.Schema, *kind.Group:
		// Containers without causes carry no problem of their own.
	default:
		*out = append(*out, at(e.InstanceLocation)+": "+e.ErrorKind.LocalizedString(printer))
	}
}

// allowed returns the sorted property names the schema declares for the
// object at path, following "properties" and "items" only.
func (v *Validator) allowed(path []string) []string {
	s, _ := v.raw.(map[string]any)
	for _, tok := range path {
		if s == nil {
			return nil
		}
		if props, ok := s["properties"].(map[string]any); ok {
			if sub, ok := props[tok].(map[string]any); ok {
				s = sub
				continue
			}
		}
		if _, err := strconv.Atoi(tok); err == nil {
			if items, ok := s["items"].(map[string]any); ok {
				s = items
				continue
			}
		}
		return nil
	}
	props, _ := s["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// pointer renders path as a JSON Pointer (RFC 6901).
func pointer(path []string) string {
	var b strings.Builder
	for _, tok := range path {
		b.WriteByte('/')
		if strings.ContainsFunc(tok, func(r rune) bool { return !strconv.IsPrint(r) }) {
			q := strconv.Quote(tok) // keep the message on one printable line
			tok = q[1 : len(q)-1]
		}
		tok = strings.ReplaceAll(tok, "~", "~0")
		b.WriteString(strings.ReplaceAll(tok, "/", "~1"))
	}
	return b.String()
}
