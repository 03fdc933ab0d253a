// Package chatwire is the OpenAI chat-completions wire format, written once
// for the module: the request (messages, tools, tool calls, sampling fields,
// logprobs and top_logprobs, vLLM's return_token_ids and
// return_tokens_as_token_ids, extra fields), the reply (choices, message,
// tool calls, log-probability entries, finish reason, usage, vLLM's
// prompt_token_ids and token_ids), the streaming chunk
// (chat.completion.chunk with its delta), and vLLM's "token_id:N"
// placeholders. The client (model/openai), its fake server
// (model/openai/openaitest) and serve-model (model/serve) all speak it.
//
// A server decodes a request and answers with a reply:
//
//	req, err := chatwire.Decode(body)
//	if err != nil {
//		// answer 400: "invalid request body: " + err.Error()
//	}
//	last := string(req.Messages[len(req.Messages)-1].Content)
//	text := "4"
//	reply := chatwire.Reply{Object: "chat.completion", Model: req.Model, Choices: []chatwire.Choice{{
//		Message: chatwire.ReplyMessage{Role: "assistant", Content: &text}, FinishReason: "stop"}}}
//	body, err := chatwire.AppendReply(nil, &reply)
//
// A client writes a request with [AppendRequest] and decodes the reply with
// encoding/json into a [Reply].
//
// The hot paths (the client's requests, the fake server's replies) are
// written without reflection by the Append functions; [Reply] encodes through
// them too (its MarshalJSON), so there is one layout. Strings are written as
// encoding/json writes them, without HTML escaping, and numbers as
// encoding/json formats a float64. Decoding a reply skips what nothing in the
// module reads and what would cost an allocation per token: each entry's
// "bytes" and "top_logprobs".
package chatwire
