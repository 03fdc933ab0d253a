package rollout

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
)

// longReplyTrajectory is an episode of one turn whose reply is raw, parsed
// as text, that became an assistant message with content.
func longReplyTrajectory(raw, text, content string) *retrain.Trajectory {
	return &retrain.Trajectory{
		ID: "t#0", Env: "e",
		Messages: []retrain.Message{
			{Role: retrain.RoleUser, Content: "go"},
			{Role: retrain.RoleAssistant, Content: content},
			{Role: retrain.RoleUser, Content: "wrong"},
		},
		Turns:      []retrain.Turn{{PromptMessages: 1, Action: retrain.Action{Kind: retrain.ActionText, Text: text, Raw: raw}}},
		StopReason: retrain.StopTerminated,
	}
}

func TestLongReplyStoredOnce(t *testing.T) {
	long := strings.Repeat("all work and no play ", 50_000) // ~1 MB
	other := strings.Repeat("y", LongReply)
	tests := []struct {
		name           string
		raw, text, msg string
		copies         int // how many times long is in the line
	}{
		{"text equals raw", long, long, long, 1},
		{"empty text", long, "", long, 1},
		{"other text", long, "42", long, 1},
		{"message differs", long, "", other, 1},
		{"short reply", "short", "short", "short", 0},
		{"just under", other[1:], other[1:], other[1:], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := longReplyTrajectory(tt.raw, tt.text, tt.msg)
			var buf bytes.Buffer
			if err := EncodeTrajectory(&buf, in); err != nil {
				t.Fatal(err)
			}
			line := buf.Bytes()
			if n := bytes.Count(line, []byte(long)); n != tt.copies {
				t.Errorf("the reply is in the line %d times, want %d", n, tt.copies)
			}
			if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
				t.Error("not one line")
			}
			if len(tt.raw) < LongReply { // written as before
				want, _ := json.Marshal(in)
				if !bytes.Equal(bytes.TrimSpace(line), want) {
					t.Errorf("short reply written as\n%s\nwant\n%s", line, want)
				}
			}
			out, err := DecodeTrajectory(line)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Errorf("read back differs: raw %d bytes (want %d), text %q… (want %q…)",
					len(out.Turns[0].Action.Raw), len(in.Turns[0].Action.Raw), clip(out.Turns[0].Action.Text), clip(in.Turns[0].Action.Text))
			}
		})
	}
}

func clip(s string) string { return s[:min(len(s), 10)] }

// TestLongReplyJSONForTrainers checks the documented form: raw left out,
// the reply in messages[prompt_messages].content.
func TestLongReplyJSONForTrainers(t *testing.T) {
	long := strings.Repeat("z", LongReply)
	var buf bytes.Buffer
	if err := EncodeTrajectory(&buf, longReplyTrajectory(long, "", long)); err != nil {
		t.Fatal(err)
	}
	var row struct {
		Messages []struct{ Content string }
		Turns    []struct {
			PromptMessages int `json:"prompt_messages"`
			Action         map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &row); err != nil {
		t.Fatal(err)
	}
	a := row.Turns[0].Action
	if _, ok := a["raw"]; ok {
		t.Error(`"raw" written`)
	}
	if text, ok := a["text"]; !ok || text != "" {
		t.Errorf(`"text" is %v (present %v), want "" written`, text, ok)
	}
	if row.Messages[row.Turns[0].PromptMessages].Content != long {
		t.Error("the reply is not messages[prompt_messages].content")
	}
}

func FuzzLongReply(f *testing.F) {
	f.Add("ab", "ab", true, 0)
	f.Add("ab", "", true, 1)
	f.Add("a\xffb", "x", false, 2)
	f.Fuzz(func(t *testing.T, unit, text string, same bool, k int) {
		if unit == "" {
			return
		}
		raw := strings.ToValidUTF8(strings.Repeat(unit, LongReply/len(unit)+1), "")
		text = strings.ToValidUTF8(text, "")
		switch k % 3 {
		case 1:
			text = raw
		case 2:
			text = ""
		}
		msg := raw
		if !same {
			msg = raw + "!"
		}
		in := longReplyTrajectory(raw, text, msg)
		var buf bytes.Buffer
		if err := EncodeTrajectory(&buf, in); err != nil {
			t.Fatal(err)
		}
		out, err := DecodeTrajectory(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Errorf("round trip differs (unit %q, text %q, same %v)", unit, clip(text), same)
		}
	})
}
