package dialect

import (
	"testing"

	"github.com/retrain-rl/retrain"
)

// fuzzSeeds are realistic model outputs in every format, malformed ones
// included. Every fuzzer starts from all of them: output in the wrong
// format is a realistic input too.
var fuzzSeeds = []string{
	// smolagent
	`<tool>{"name": "get_weather", "args": {"city": "Paris"}}</tool>`,
	"<think>\nI need the weather.\n</think>\nLet me look it up.\n<tool>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool>",
	"<reasoning>2+2</reasoning><answer>4</answer>",
	`<tool>{"name": "a", "args": {}}</tool><tool>{"name": "b", "args": {"x": [1, {"y": "}"}]}}</tool>`,
	`<tool>{"name": "f", "args": {"q": "x`,
	"<answer>4",
	`<tool>{'name': 'f'}</tool>`,
	`<tool>{"name": "f", "args": {}}}</tool>`,
	// hermes / Qwen
	"<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"San Francisco, CA, USA\"}}\n</tool_call>",
	"<think>\nweather\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"t\", \"arguments\": {}}\n</tool_call>",
	"Okay.\n</think>\n\n2 + 2 = 4.",
	"<tool_call>\n{\"arguments\": {\"symbol\": \"TSLA\"}, \"name\": \"get_stock_fundamentals\"}\n</tool_call><|im_end|>",
	"<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"go gen",
	"<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"d = {\\\"a\\\": [1, 2]}\"}}\n</tool_call>",
	"<tool_call>\n</tool_call>",
	"<think>\nLet me consider",
	// llama3_json
	`{"name": "get_current_conditions", "parameters": {"location": "San Francisco, CA", "unit": "Fahrenheit"}}`,
	`<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>`,
	`{"type": "function", "name": "get_weather", "arguments": {"city": "Tokyo"}}`,
	`{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {"y": "z;{"}}`,
	`<|python_tag|>brave_search.call(query="weather")`,
	`{"name": "get_weather", "parameters": {"city": "Par`,
	`{"answer": 42}`,
	// mistral
	`[TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}, "id": "abcDEF123"}]</s>`,
	`[TOOL_CALLS]get_weather[ARGS]{"city": "Zürich"}[TOOL_CALLS]search[ARGS]{"query": "café"}`,
	`[TOOL_CALLS]get_weather[CALL_ID]abcDEF123[ARGS]{"city": "Bern"}`,
	`[THINK]tool[/THINK][TOOL_CALLS]add{"a": 3.5, "b": 4}`,
	`hi{hi[TOOL_CALLS]bash{"command": "print(\"hello world!\")\nre.compile(r'{}')`,
	`[TOOL_CALLS]toolname_no_args`,
	// pythonic
	`[get_weather(city='San Francisco', metric='celsius')]`,
	`[get_weather(city="Paris"), f(x=1, y=[1,2], z={"a": None}, flag=True, t=(1,), h=0xFF, e=1e-3)]`,
	`<|python_start|>[get_time(timezone="Europe/Paris")]<|python_end|>`,
	`[echo(a='it\'s', b="say \"hi\"", c=r'C:\n', d="""tri"ple""", e="\ud83d\ude00")]`,
	`[get_weather(city="Paris", "celsius")]`,
	`[f(x=g(y=1))]`,
	`[get_weather(city="Par`,
	// qwen3_coder
	"<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
	"<tool_call>\n<function=f>\n<parameter=a>\n1\n<parameter=b>\ntext\n</function>\n</tool_call>",
	"<function=list_files>\n<parameter=path>\n.\n</parameter>\n</function>",
	"<tool_call>\n<function=write_file>\n<parameter=content>\ndef f(",
	"<tool_call>\n<function=f\n</function>\n</tool_call>",
	// real outputs that broke parsers elsewhere
	"<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": 1}}\n</tool_call>",
	"```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n```",
	"<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"import os\nprint(1)\"}}\n</tool_call>",
	`Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?`,
	`I'll call {'name': 'search', 'parameters': {'q': 'llamas'}} now.`,
	`<function=spotify_trending_songs>{"n": "5"}</function>`,
	"<|python_tag|>```json\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\n```",
	"Sure.\n[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]",
	"[TOOL_CALLS]```json\n[{\"name\": \"f\", \"arguments\": {}}]\n```",
	"I'll check.\n```python\n[get_weather(city=\"Paris\")]\n```",
	"get_weather(city='Paris')\nget_weather(city='Rome')",
	"<tool_call>\n<function=write_file>\n<parameter=content>\nends with </parameter> here\n</parameter>\n</function>\n</tool_call>",
	"<tool_call>\n<function=get_weather>\n<parameter=city>\n上海\n</parameter1>\n</function>\n</tool_call>",
	"<tool_call>\n<function=a>\n<parameter=x>\n1\n</parameter>\n<function=b>\n<parameter=y>\n2\n</function>",
	"<tool_call><function=f><parameter=a>1</parameter><parameter=b>x</parameter></function></tool_call>",
	"<answer>The answer is <b>4</b> (see <tool> docs).</answer>",
	// answers and junk
	"The capital of France is Paris.",
	"",
	"{",
	"[",
	"</think>",
	"\xff\xfe<tool_call>{\"name\": \"\xff\", \"arguments\": {\"a\": \"\xfe\"}}</tool_call>",
}

// fuzzParse runs Parse of d on arbitrary text and checks the invariants.
func fuzzParse(f *testing.F, d Dialect) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a := d.Parse(text, nil)
		checkInvariants(t, text, a)
		msg := d.AssistantMessage(a)
		if msg.Role != retrain.RoleAssistant {
			t.Fatalf("AssistantMessage role = %q", msg.Role)
		}
		if msg.Content != text {
			t.Fatalf("AssistantMessage content = %q, want the model's output %q", msg.Content, text)
		}
		a.Raw = ""
		_ = d.AssistantMessage(a) // rendering an action must not panic either
	})
}

func FuzzParseSmolAgent(f *testing.F)  { fuzzParse(f, SmolAgent()) }
func FuzzParseHermes(f *testing.F)     { fuzzParse(f, Hermes()) }
func FuzzParseLlama3JSON(f *testing.F) { fuzzParse(f, Llama3JSON()) }
func FuzzParseMistral(f *testing.F)    { fuzzParse(f, Mistral()) }
func FuzzParsePythonic(f *testing.F)   { fuzzParse(f, Pythonic()) }
func FuzzParseQwen3Coder(f *testing.F) { fuzzParse(f, Qwen3Coder()) }

// FuzzParseNative fuzzes the native calls as well as the text.
func FuzzParseNative(f *testing.F) {
	f.Add("", "call_1", "get_weather", `{"city": "Paris"}`)
	f.Add("Let me check.", "", "f", `"{\"a\": 1}"`)
	f.Add("<think>x</think>", "id", "f", `{"a": 1`)
	f.Add("text", "id", "", `[]`)
	f.Add("<think>", "id", "f", ``)
	f.Fuzz(func(t *testing.T, text, id, name, args string) {
		a := Native().Parse(text, []retrain.ToolCall{{ID: id, Name: name, Arguments: []byte(args)}})
		checkInvariants(t, text, a)
		if a.ParseError == "" && (a.Kind != retrain.ActionToolCall || len(a.ToolCalls) != 1) {
			t.Fatalf("native call without parse error gave %+v", a)
		}
		_ = Native().AssistantMessage(a)
	})
}
