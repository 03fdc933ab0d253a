package dialect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestPythonicParse(t *testing.T) {
	runParseCases(t, Pythonic(), []parseCase{
		{
			name: "Llama 3.2 single call",
			in:   `[get_weather(city='San Francisco', metric='celsius')]`,
			want: calls("", tc("call_0", "get_weather", `{"city":"San Francisco","metric":"celsius"}`)),
		},
		{
			name: "several calls and every literal kind",
			in:   `[get_weather(city="Paris"), f(x=1, y=[1,2], z={"a": None}, flag=True, t=(1, "two"), neg=-2.5e3, big=12345678901234567890, h=0xFF, off=False)]`,
			want: calls("",
				tc("call_0", "get_weather", `{"city":"Paris"}`),
				tc("call_1", "f", `{"x":1,"y":[1,2],"z":{"a":null},"flag":true,"t":[1,"two"],"neg":-2.5e3,"big":12345678901234567890,"h":255,"off":false}`)),
		},
		{
			name: "Llama 4 wrapper",
			in:   `<|python_start|>[get_time(timezone="Europe/Paris")]<|python_end|>`,
			want: calls("", tc("call_0", "get_time", `{"timezone":"Europe/Paris"}`)),
		},
		{
			name: "python tag and end token",
			in:   `<|python_tag|>[search(query="llamas")]<|eom_id|>`,
			want: calls("", tc("call_0", "search", `{"query":"llamas"}`)),
		},
		{
			name: "string escapes and quotes",
			in:   `[echo(a='it\'s', b="say \"hi\"", c='tab\there\nnew', d="\u00e9\x41\101", e=r'C:\path\n', f="""tri"ple""", g='x' "y", h="\ud83d\ude00", i='a\qb')]`,
			want: calls("", tc("call_0", "echo", `{"a":"it's","b":"say \"hi\"","c":"tab\there\nnew","d":"éAA","e":"C:\\path\\n","f":"tri\"ple","g":"xy","h":"😀","i":"a\\qb"}`)),
		},
		{
			name: "no arguments, unicode, newlines and trailing commas",
			in:   "[\n  now(),\n  translate(text=\"日本語\", langs=['fr', 'de',],),\n]",
			want: calls("", tc("call_0", "now", `{}`), tc("call_1", "translate", `{"text":"日本語","langs":["fr","de"]}`)),
		},
		{
			name: "floats and dict keys",
			in:   `[f(a=.5, b=5., c=1_000, d=1e-3, e={1: "one", "k": [], True: None}, g={1, 2}, h=(), i=(3,), j=(4))]`,
			want: calls("", tc("call_0", "f", `{"a":0.5,"b":5.0,"c":1000,"d":1e-3,"e":{"1":"one","k":[],"true":null},"g":[1,2],"h":[],"i":[3],"j":4}`)),
		},
		{
			name: "JSON-style literals",
			in:   `[f(a=true, b=null, c=false)]`,
			want: calls("", tc("call_0", "f", `{"a":true,"b":null,"c":false}`)),
		},
		{
			name: "bare call",
			in:   `get_weather(city="Paris")`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "prose then list",
			in:   "I'll check that.\n[get_weather(city=\"Paris\")]",
			want: calls("I'll check that.", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "think block",
			in:   "<think>need weather</think>[get_weather(city=\"Oslo\")]",
			want: withReasoning(calls("", tc("call_0", "get_weather", `{"city":"Oslo"}`)), "need weather"),
		},
		{
			name: "plain answer",
			in:   "It is 22 degrees in Paris.",
			want: answer("It is 22 degrees in Paris."),
		},
		{
			name: "citation is not a call",
			in:   "[1] Smith(2020) shows it.",
			want: answer("[1] Smith(2020) shows it."),
		},
		{
			name: "empty list is an answer",
			in:   "[]",
			want: answer("[]"),
		},
		{
			name:    "positional argument",
			in:      `[get_weather(city="Paris", "celsius")]`,
			wantErr: "positional arguments are not allowed",
			want:    failed(),
		},
		{
			name:    "variable as value",
			in:      `[get_weather(city=paris)]`,
			wantErr: "must be literals",
			want:    failed(),
		},
		{
			name:    "nested call",
			in:      `[f(x=g(y=1))]`,
			wantErr: "not calls or expressions",
			want:    failed(),
		},
		{
			name:    "cut off",
			in:      `[get_weather(city="Par`,
			wantErr: "unterminated string",
			want:    failed(),
		},
		{
			name:    "unclosed list",
			in:      `[get_weather(city="Paris")`,
			wantErr: `expected "," or "]"`,
			want:    failed(),
		},
		{
			name:    "repeated keyword",
			in:      `[f(a=1, a=2)]`,
			wantErr: "repeated",
			want:    failed(),
		},
		{
			name:    "number out of range",
			in:      `[f(a=1e999)]`,
			wantErr: "out of range",
			want:    failed(),
		},
		{
			name:    "f-string",
			in:      `[f(a=f"{x}")]`,
			wantErr: "f-strings",
			want:    failed(),
		},
	})
}

func TestPyLiteralErrors(t *testing.T) {
	for _, in := range []string{
		`[f(a=)]`, `[f(a=1 b=2)]`, `[f(a=[1, 2)]`, `[f(a={"k" 1})]`, `[f(a={[1]: 2})]`, `[f(a=1j)]`,
		`[f(a=0xZZ)]`, `[f(a='\x4')]`, `[f(a="\N{BULLET}")]`, `[f(a=-"x")]`, `[f(a=.)]`, `[f(a=1e)]`,
		`[f(a='line` + "\n" + `break')]`, `[f(a=` + strings.Repeat("[", 300) + `)]`,
	} {
		a := Pythonic().Parse(in, nil)
		if a.ParseError == "" {
			t.Errorf("Parse(%q) = %+v, want a parse error", in, a)
		}
		checkInvariants(t, in, a)
	}
}

func TestPythonicToolResults(t *testing.T) {
	got := Pythonic().ToolResults([]retrain.ToolResult{{CallID: "call_0", Name: "f", Output: "ok", Success: true}})
	want := []retrain.Message{{Role: retrain.RoleTool, Content: "ok", ToolCallID: "call_0", Name: "f"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolResults mismatch (-want +got):\n%s", diff)
	}
}

func TestPythonicSystemPrompt(t *testing.T) {
	p := Pythonic().SystemPrompt([]retrain.ToolSpec{weatherTool})
	for _, want := range []string{"[func_name1(params_name1=params_value1", `"name": "get_weather"`, "plain text"} {
		if !strings.Contains(p, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, p)
		}
	}
}

// TestPythonicParseRealOutputs holds outputs of Llama 3.2 and Llama 4 in
// the pythonic format seen in vLLM's tests, Meta's prompt-format notes and
// bug reports, malformed ones included.
func TestPythonicParseRealOutputs(t *testing.T) {
	runParseCases(t, Pythonic(), []parseCase{
		{
			name: "every literal kind (vLLM test)",
			in:   "[register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=None, passed_test=True, aliases=['John', 'Johnny'])]",
			want: calls("", tc("call_0", "register_user", `{"name":"John Doe","age":37,"address":{"city":"San Francisco","state":"CA"},"role":null,"passed_test":true,"aliases":["John","Johnny"]}`)),
		},
		{
			name: "escaped quotes (vLLM test)",
			in:   `[get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')]`,
			want: calls("", tc("call_0", "get_weather", `{"city":"Martha's Vineyard","metric":"\"cool units\""}`)),
		},
		{
			name: "empty dict and empty list (vLLM test)",
			in:   `[do_something_cool(additional_data={}), do_something_cool(steps=[])]`,
			want: calls("", tc("call_0", "do_something_cool", `{"additional_data":{}}`), tc("call_1", "do_something_cool", `{"steps":[]}`)),
		},
		{
			name: "parallel calls without spaces (vLLM Llama 4 test)",
			in:   `[get_weather(city='LA',metric='C'),register_user(name='Doe',age=9)]`,
			want: calls("", tc("call_0", "get_weather", `{"city":"LA","metric":"C"}`), tc("call_1", "register_user", `{"name":"Doe","age":9}`)),
		},
		{
			name: "Llama 4 wrapper without its end token (vLLM test)",
			in:   `<|python_start|>[get_weather(city='LA', metric='C'), register_user(name='Doe', age=9)]`,
			want: calls("", tc("call_0", "get_weather", `{"city":"LA","metric":"C"}`), tc("call_1", "register_user", `{"name":"Doe","age":9}`)),
		},
		{
			name: "Llama 4 prose before the calls (vLLM issue 22917)",
			in:   "To determine the weather on April 14, I'll first get today's date.\n\n[get_todays_date(), get_weather(location=\"Dublin, Ireland\", date=\"2025-04-14\")]<|eot|>",
			want: calls("To determine the weather on April 14, I'll first get today's date.", tc("call_0", "get_todays_date", `{}`), tc("call_1", "get_weather", `{"location":"Dublin, Ireland","date":"2025-04-14"}`)),
		},
		{
			name: "prose, then the calls in a code fence",
			in:   "I'll check.\n```python\n[get_weather(city=\"Paris\")]\n```",
			want: calls("I'll check.", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "calls in a code fence, then prose",
			in:   "```tool_code\n[get_weather(city=\"Paris\")]\n```\nI'll wait for the result.",
			want: calls("I'll wait for the result.", tc("call_0", "get_weather", `{"city":"Paris"}`)),
		},
		{
			name: "bare calls on lines of their own",
			in:   "get_weather(city='Paris')\nget_weather(city='Rome')",
			want: calls("", tc("call_0", "get_weather", `{"city":"Paris"}`), tc("call_1", "get_weather", `{"city":"Rome"}`)),
		},
		{
			name: "brackets, parentheses and quotes inside strings",
			in:   `[search(query="f(x) = [1, 2]"), calc(expr='(1+2)*3', note="it's \"ok\"")]`,
			want: calls("", tc("call_0", "search", `{"query":"f(x) = [1, 2]"}`), tc("call_1", "calc", `{"expr":"(1+2)*3","note":"it's \"ok\""}`)),
		},
		{
			name: "multi-line code in a triple-quoted string",
			in:   "[run_python(code=\"\"\"def f():\n    return {'a': [1, 2]}\nprint(f())\"\"\")]",
			want: calls("", tc("call_0", "run_python", `{"code":"def f():\n    return {'a': [1, 2]}\nprint(f())"}`)),
		},
		{
			name: "deeply nested lists and dicts",
			in:   `[f(m=[[1, 2], {"k": [True, None, -3.5]}], t=((1, 2), (3,)))]`,
			want: calls("", tc("call_0", "f", `{"m":[[1,2],{"k":[true,null,-3.5]}],"t":[[1,2],[3]]}`)),
		},
		{
			name:    "a JSON call (Llama 4 Scout with the JSON template)",
			in:      `{"type": "function", "name": "Bash", "parameters": {"command": "echo hello", "timeout": 12000}}`,
			wantErr: "is written as JSON: write calls in Python syntax",
			want:    failed(),
		},
		{
			name:    "placeholder copied from the prompt",
			in:      `[func_name1(params_name1=params_value1, params_name2=params_value2)]`,
			wantErr: "found the name params_value1",
			want:    failed(),
		},
		{
			name:    "a line break inside a quoted string",
			in:      "[write(text=\"line one\nline two\")]",
			wantErr: `a line break inside a quoted string must be written \n`,
			want:    failed(),
		},
		{
			name:    "cut off in the second call",
			in:      `<|python_start|>[get_weather(city='LA'), register_user(name='Doe', age=`,
			wantErr: "expected a value",
			want:    failed(),
		},
	})
}
