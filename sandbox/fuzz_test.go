package sandbox

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadCell feeds readCell, the parser of a Session's answers,
// arbitrary bytes (it must return an answer or an error, never panic), and
// a framed answer made from arbitrary fields, followed by arbitrary bytes:
// that one must come back as it was, the bytes after it unread.
func FuzzReadCell(f *testing.F) {
	for _, s := range []string{"2\n{}", "", "\n", "-1\n", "99999999999\n{}", "3\n{}", "2\n[]garbage"} {
		f.Add(s, "out\n", "Traceback", 1)
	}
	f.Fuzz(func(t *testing.T, junk, stdout, stderr string, exit int) {
		readCell(bufio.NewReader(strings.NewReader(junk)))

		want := cellResult{Stdout: stdout, Stderr: stderr, Exit: exit}
		b, _ := json.Marshal(want)
		r := bufio.NewReader(strings.NewReader(strconv.Itoa(len(b)) + "\n" + string(b) + junk))
		got, err := readCell(r)
		if err != nil {
			t.Fatalf("a well-formed frame: %v", err)
		}
		// JSON keeps valid UTF-8 only; compare what survives encoding.
		var norm cellResult
		json.Unmarshal(b, &norm)
		if got != norm {
			t.Errorf("got %+v, want %+v", got, norm)
		}
		if rest, _ := io.ReadAll(r); string(rest) != junk {
			t.Errorf("read past the frame: left %q, want %q", rest, junk)
		}
	})
}
