package dialect_test

import (
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

func Example() {
	d, err := dialect.Get("hermes")
	if err != nil {
		panic(err)
	}
	out := "<think>\nI need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	action := d.Parse(out, nil)
	fmt.Println(action.Kind, action.Reasoning)
	for _, c := range action.ToolCalls {
		fmt.Println(c.ID, c.Name, string(c.Arguments))
	}
	results := d.ToolResults([]retrain.ToolResult{{CallID: "call_0", Name: "get_weather", Output: "sunny, 22°C", Success: true}})
	fmt.Printf("%s: %q\n", results[0].Role, results[0].Content)
	// Output:
	// tool_call I need the weather.
	// call_0 get_weather {"city":"Paris"}
	// user: "<tool_response>\nsunny, 22°C\n</tool_response>"
}

func ExampleDialect_Parse_parseError() {
	d := dialect.SmolAgent()
	action := d.Parse(`<tool>{"name": "get_weather", "args": {"city": "Par`, nil)
	fmt.Println(action.Kind)
	fmt.Println(action.ParseError)
	// Output:
	// text
	// the last <tool> block is not closed with </tool> (was the output cut off?); tool call 1: invalid JSON: unexpected EOF. Expected format: <tool>{"name": "tool_name", "args": {"arg": "value"}}</tool> to call a tool (one block per call), or <answer>your final answer</answer> to answer
}

func ExamplePythonic() {
	action := dialect.Pythonic().Parse(`[search(query='go "generics"', limit=5, filters={"lang": None, "tags": ("a", "b")}, exact=True)]`, nil)
	fmt.Println(action.ToolCalls[0].Name, string(action.ToolCalls[0].Arguments))
	// Output:
	// search {"query":"go \"generics\"","limit":5,"filters":{"lang":null,"tags":["a","b"]},"exact":true}
}
