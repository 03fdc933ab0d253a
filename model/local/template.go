package local

import "github.com/retrain-rl/retrain"

// Render turns a conversation into the model's prompt token ids with the
// model's fixed chat template, ending with the generation prompt
// (TokenAssistant). Each message is its role token, its content's bytes and
// TokenEnd:
//
//	<|user|>What is 3 * 4?<|end|><|assistant|><tool>…</tool><|end|><|user|><result>12</result><|end|><|assistant|>
//
// System messages are left out. The model was trained on one environment
// (the calculator) whose system prompt never changes, so it carries no
// information for this model, and leaving it out keeps the context short (it
// is about 1,500 bytes). Native tool calls of assistant messages are left
// out too (the model does not do native tool calling); tool messages are
// rendered with TokenTool.
//
// Rendering is prefix-stable: the prompt of the next turn starts with this
// prompt followed by the completion's token ids (TokenEnd included), so
// rollouts see no template drift.
func Render(msgs []retrain.Message) []int {
	ids, _ := render[int](msgs, true)
	return ids
}

// RenderTraining renders a whole conversation for training, without the
// generation prompt, and marks the tokens the model learns to produce: the
// content of assistant messages and their TokenEnd.
func RenderTraining(msgs []retrain.Message) (ids []int, learn []bool) {
	return render[int](msgs, false)
}

// render renders msgs into ids of type T: int for the package's API,
// int32 for the prompt ids of a completion (no conversion, no copy).
func render[T int | int32](msgs []retrain.Message, generationPrompt bool) (ids []T, learn []bool) {
	n := 1
	for i := range msgs {
		n += len(msgs[i].Content) + 2
	}
	ids = make([]T, 0, n)
	if !generationPrompt {
		learn = make([]bool, 0, n)
	}
	for i := range msgs {
		m := &msgs[i]
		var role T
		switch m.Role {
		case retrain.RoleSystem:
			continue
		case retrain.RoleAssistant:
			role = TokenAssistant
		case retrain.RoleTool:
			role = TokenTool
		default:
			role = TokenUser
		}
		start := len(ids)
		ids = append(ids, role)
		for j := 0; j < len(m.Content); j++ {
			ids = append(ids, T(m.Content[j]))
		}
		ids = append(ids, TokenEnd)
		if learn != nil {
			for j := start; j < len(ids); j++ {
				learn = append(learn, role == TokenAssistant && j > start)
			}
		}
	}
	if generationPrompt {
		ids = append(ids, TokenAssistant)
	}
	return ids, learn
}

// SegmentPositions returns each token's position within its message: 0 for
// the role token, counting up to the message's TokenEnd, clamped to
// limit-1 (the index into Weights.SegmentEmbed). Tokens before the first
// role token count from the start.
func SegmentPositions(ids []int, limit int) []int {
	pos := make([]int, len(ids))
	p := 0
	for i, id := range ids {
		if isRole(id) {
			p = 0
		}
		pos[i] = min(p, limit-1)
		p++
	}
	return pos
}
