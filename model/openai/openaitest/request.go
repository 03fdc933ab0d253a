package openaitest

import "github.com/retrain-rl/retrain/internal/chatwire"

// ChatRequest is a decoded POST /v1/chat/completions body, as the server saw
// it. Fields the server does not model are in Raw (see [ChatRequest.Extra]).
type ChatRequest = chatwire.Request

// Message is one chat message in the OpenAI layout; the fields are the wire
// fields of the same names.
type Message = chatwire.Message

// Content is a message's text. On the wire it is a string, null, or an array
// of parts of which the "text" ones are joined.
type Content = chatwire.Content

// Stop is the stop field: a string or an array of strings.
type Stop = chatwire.Stop

// ToolCall is an assistant's tool call in the OpenAI layout. Arguments is the
// JSON text of the arguments, as a string (it need not be valid JSON).
type ToolCall = chatwire.ToolCall

// FunctionCall names the called function and carries its arguments.
type FunctionCall = chatwire.FunctionCall

// Tool is an offered tool in the OpenAI layout.
type Tool = chatwire.Tool

// Function describes an offered function.
type Function = chatwire.Function
