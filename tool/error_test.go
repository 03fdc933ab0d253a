package tool_test

import (
	"errors"
	"io"
	"testing"

	"github.com/retrain-rl/retrain/tool"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *tool.Error
		want string
	}{
		{&tool.Error{Tool: "search", Message: "no results"}, `tool "search": no results`},
		{&tool.Error{Message: "no results"}, "no results"},
		{&tool.Error{Tool: "search", Err: io.EOF}, `tool "search": EOF`},
		{&tool.Error{}, "tool call failed"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestErrorf(t *testing.T) {
	e := tool.Errorf("no city named %q", "Pariss")
	if e.Message != `no city named "Pariss"` || e.Err != nil || e.Tool != "" {
		t.Errorf("Errorf = %#v", e)
	}
	e = tool.Errorf("reading: %w", io.ErrUnexpectedEOF)
	if e.Message != "reading: unexpected EOF" || !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Errorf("Errorf with %%w = %#v; want Message set and Err wrapped", e)
	}
	e = tool.Errorf("two: %w, %w", io.EOF, io.ErrClosedPipe)
	if !errors.Is(e, io.EOF) || !errors.Is(e, io.ErrClosedPipe) {
		t.Errorf("Errorf with two %%w does not wrap both: %#v", e)
	}
}
