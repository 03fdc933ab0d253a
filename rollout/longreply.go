package rollout

import (
	"encoding/json"
	"io"

	"github.com/retrain-rl/retrain"
)

// LongReply is the length from which a turn's reply is stored once in a
// trajectory line: a turn whose action.raw is at least this long and equals
// the content of the assistant message it became
// (messages[prompt_messages]) is written without "raw", and without "text"
// when that equals raw too. [DecodeTrajectory] restores both. Shorter
// replies are written whole, as they always were.
const LongReply = 64 << 10

// EncodeTrajectory writes t to w as one JSON line, the way [JSONLWriter]
// writes it: HTML characters unescaped, and long replies stored once (see
// [LongReply]).
func EncodeTrajectory(w io.Writer, t *retrain.Trajectory) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if !hasLongReply(t) {
		return enc.Encode(t) // Encode ends the line with "\n"
	}
	return enc.Encode(storedOnce(t))
}

// hasLongReply reports whether some turn of t has a reply stored once.
func hasLongReply(t *retrain.Trajectory) bool {
	for i := range t.Turns {
		if replyInMessage(t, i) {
			return true
		}
	}
	return false
}

// replyInMessage reports whether turn i's raw reply is long and is the
// content of the assistant message that follows its prompt.
func replyInMessage(t *retrain.Trajectory, i int) bool {
	turn := &t.Turns[i]
	k := turn.PromptMessages
	return len(turn.Action.Raw) >= LongReply && k >= 0 && k < len(t.Messages) &&
		t.Messages[k].Role == retrain.RoleAssistant && t.Messages[k].Content == turn.Action.Raw
}

// fileTrajectory is a trajectory as written when some replies are stored
// once: its turns shadow the embedded ones.
type fileTrajectory struct {
	*retrain.Trajectory
	Turns []fileTurn `json:"turns"`
}

type fileTurn struct {
	retrain.Turn
	Action fileAction `json:"action"`
}

// fileAction shadows Text and Raw so that either can be left out, or (Text)
// written empty.
type fileAction struct {
	retrain.Action
	Text *string `json:"text,omitempty"`
	Raw  *string `json:"raw,omitempty"`
}

// storedOnce returns t in the form whose long replies are stored once. When
// raw is left out, text is written unless it equals raw, even when empty, so
// that a reader can tell the two apart.
func storedOnce(t *retrain.Trajectory) *fileTrajectory {
	ft := &fileTrajectory{Trajectory: t, Turns: make([]fileTurn, len(t.Turns))}
	for i := range t.Turns {
		a := &t.Turns[i].Action
		fa := fileAction{Action: *a, Raw: &a.Raw}
		switch {
		case !replyInMessage(t, i):
			if a.Text != "" {
				fa.Text = &a.Text
			}
		case a.Text == a.Raw:
			fa.Raw = nil
		default:
			fa.Raw, fa.Text = nil, &a.Text
		}
		ft.Turns[i] = fileTurn{Turn: t.Turns[i], Action: fa}
	}
	return ft
}

// restoreReplies fills in the replies that data stored once (see
// [LongReply]) into t, decoded from data. It costs a second look at the
// line only when some turn's raw may have been left out: empty, after a
// long assistant message.
func restoreReplies(t *retrain.Trajectory, data []byte) error {
	maybe := false
	for i := range t.Turns {
		turn := &t.Turns[i]
		k := turn.PromptMessages
		if turn.Action.Raw == "" && k >= 0 && k < len(t.Messages) &&
			t.Messages[k].Role == retrain.RoleAssistant && len(t.Messages[k].Content) >= LongReply {
			maybe = true
			break
		}
	}
	if !maybe {
		return nil
	}
	var keys struct {
		Turns []struct {
			Action struct {
				Raw  *json.RawMessage `json:"raw"`
				Text *json.RawMessage `json:"text"`
			} `json:"action"`
		} `json:"turns"`
	}
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	for i := range min(len(keys.Turns), len(t.Turns)) {
		a, k := &keys.Turns[i].Action, t.Turns[i].PromptMessages
		if a.Raw != nil || k < 0 || k >= len(t.Messages) {
			continue
		}
		t.Turns[i].Action.Raw = t.Messages[k].Content
		if a.Text == nil {
			t.Turns[i].Action.Text = t.Turns[i].Action.Raw
		}
	}
	return nil
}
