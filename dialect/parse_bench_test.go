package dialect

import (
	"strings"
	"testing"
)

// BenchmarkParseAdversarial parses 1 MB inputs built to make a careless
// parser quadratic (unclosed tags, tags that almost close, brackets).
// Parsing is linear in the input: doubling n doubles the time, and none
// takes more than a fraction of a second (the slowest produce 100,000
// calls).
func BenchmarkParseAdversarial(b *testing.B) {
	const n = 1 << 20
	inputs := []struct{ name, text string }{
		{"unclosed_parameters", "<tool_call><function=f>" + strings.Repeat("<parameter=a>x", n/14)},
		{"line_parameters", "<tool_call><function=f>" + strings.Repeat("\n<parameter=a", n/13)},
		{"literal_parameter_ends", "<tool_call><function=f><parameter=a>" + strings.Repeat("</parameter>x", n/13)},
		{"literal_function_ends", "<tool_call><function=f><parameter=a>" + strings.Repeat("</function>x", n/12)},
		{"functions", strings.Repeat("<function=f><parameter=a>1", n/26)},
		{"tool_calls", strings.Repeat("<tool_call>", n/11)},
		{"unclosed_call_objects", strings.Repeat(`{"name"`, n/7)},
		{"call_objects_in_prose", strings.Repeat(`x {"name": "f", "parameters": {}} `, n/34)},
		{"brackets", strings.Repeat("[", n)},
		{"tags_without_close", "<tool_call>" + strings.Repeat("{\"name\": \"f\"}\n<tool_call>", n/24)},
		{"fences", strings.Repeat("```\n", n/4)},
		{"python_calls", strings.Repeat("f(a=1)\n", n/7)},
		{"open_parentheses", strings.Repeat("f(\n", n/3)},
		{"tool_calls_markers", strings.Repeat("[TOOL_CALLS]f{}", n/15)},
	}
	for _, in := range inputs {
		for _, name := range Names() {
			d, _ := Get(name)
			b.Run(in.name+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(in.text)))
				for b.Loop() {
					d.Parse(in.text, nil)
				}
			})
		}
	}
}
