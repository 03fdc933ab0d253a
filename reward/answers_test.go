package reward

import (
	"context"
	"errors"
	"testing"

	"github.com/retrain-rl/retrain"
)

// mathCases are (gold, completion, equal) triples written the way datasets
// and models write answers.
var mathCases = []struct {
	gold, pred string
	want       bool
}{
	// GSM8K references and plain numbers.
	{"#### 1,234", "1234", true},
	{"Janet sells 9 eggs.\n#### 18", "She makes $18.00 a day. The answer is 18.", true},
	{"#### 18", "$18.00", true},
	{"18", `\$18`, true},
	{"#### 70000", "The profit is $70,000.", true},
	{"#### 1234", "1,234", true},
	{"1,000,000", "1000000", true},
	{"#### 5", "The answer is 6.", false},
	{"-3", "-3", true},
	{"-3", "3", false},
	{"3", "-3", false},
	{"1000", "1e3", true},
	{"1000", "1E3", true},
	{"0.0015", "1.5e-3", true},
	{"1000", `1 \times 10^3`, true},
	{"1000", `10^{3}`, true},
	{"2.5", "2.50", true},
	{"0.5", ".5", true},
	{"10", "10.0", true},
	{"10", "10.5", false},
	{"7", "7.", true},
	// Fractions.
	{"0.5", `\boxed{\frac{1}{2}}`, true},
	{`\frac{1}{2}`, "0.5", true},
	{"0.75", `\dfrac{3}{4}`, true},
	{"0.75", `\tfrac{3}{4}`, true},
	{"0.75", "3/4", true},
	{`\frac12`, "0.5", true},
	{`\frac{1}{2}`, `\frac12`, true},
	{`\frac{3}{4}`, `\frac{6}{8}`, true},
	{`\frac{3}{4}`, `\frac{4}{3}`, false},
	{`-\frac{1}{2}`, "-0.5", true},
	{`\frac{-1}{2}`, "-1/2", true},
	{"1/3", "0.3333333", true},
	{"1/3", "0.33", false},
	// Mixed numbers.
	{"2.5", "2 1/2", true},
	{"2.5", `2\frac{1}{2}`, true},
	{"2.5", `2 \frac{1}{2}`, true},
	{"-2.5", "-2 1/2", true},
	{"5/2", `2\frac12`, true},
	{"1", `2\cdot\frac{1}{2}`, true},
	// Percentages.
	{"50", `50\%`, true},
	{"50", "50%", true},
	{"0.5", "50%", true},
	{"50%", "0.5", true},
	{"50%", "50", true},
	{"50", "0.5", false},
	{"25", "25 percent", true},
	{"#### 20", "The discount is 20%.", true},
	// Roots, pi, e.
	{`\frac{\sqrt{2}}{2}`, `\sqrt{2}/2`, true},
	{`\sqrt{8}`, `2\sqrt{2}`, true},
	{`2\sqrt{2}`, `\sqrt{8}`, true},
	{`\sqrt{2}`, "1.41421356", true},
	{`\sqrt{2}`, "1.41", false},
	{`\sqrt2`, `\sqrt{2}`, true},
	{`\pi/2`, "1.5707963", true},
	{`\frac{\pi}{2}`, `\pi/2`, true},
	{`\frac{\pi}{2}`, `\frac12\pi`, true},
	{`2\pi`, `\pi \cdot 2`, true},
	{`\pi`, "3.14", false},
	{`3\sqrt{3}`, `\sqrt{27}`, true},
	{`\sqrt[3]{8}`, "2", true},
	{"4", `\sqrt{16}`, true},
	{`\frac{3}{2}`, `\sqrt{\frac{9}{4}}`, true},
	{`e^2`, `e \cdot e`, true},
	{"120", "5!", true},
	{"10", `\binom{5}{2}`, true},
	{"8", "2^3", true},
	{"8", "2**3", true},
	{"0.25", "2^{-2}", true},
	// LaTeX dressing.
	{"5", "$5$", true},
	{"5", `\(5\)`, true},
	{"5", `\[5\]`, true},
	{"(1,2)", `\left( 1, 2 \right)`, true},
	{"1000", `1\,000`, true},
	{"1000", `1{,}000`, true},
	{"3", `\!3`, true},
	{"5", `\text{5 cm}`, true},
	{"5", `5\text{ cm}`, true},
	{"5", `5 \mbox{ cm}`, true},
	{"5", `5\text{ cm}^2`, true},
	{"90", `90^\circ`, true},
	{"90", `90^{\circ}`, true},
	{"90", "90°", true},
	{"90", "90 degrees", true},
	{"10", "10 dollars", true},
	{"10", "10 apples", true},
	{"60", "60 km/h", true},
	{"12", "12cm", true},
	{"5", "x = 5", true},
	{"5", "x=5", true},
	{"5", "The answer is x = 5.", true},
	{"5", "y = 2+3", true},
	{"-7", `\boxed{-7}`, true},
	{`\text{Monday}`, "Monday", true},
	{"Monday", "monday", true},
	{"Monday", "Tuesday", false},
	{"(B)", `\text{(B)}`, true},
	{"B", "(B)", true},
	{"B", "(C)", false},
	// Tuples, sets, intervals, lists.
	{"(1,2)", "(1, 2)", true},
	{"(1,2)", "(2,1)", false},
	{"(1,2)", "(1,2,3)", false},
	{"{1,2}", "{2,1}", true},
	{`\{1,2\}`, `\{2, 1\}`, true},
	{"{1,2}", "{1,3}", false},
	{"[0,1)", "[0, 1)", true},
	{"[0,1)", "[0,1]", false},
	{"[0,1)", "(0,1)", false},
	{`(-\infty, 3]`, `(-\infty,3]`, true},
	{`(-\infty, 3]`, `(-\infty,3)`, false},
	{`(-\infty,-1)\cup(1,\infty)`, `(1,\infty) \cup (-\infty,-1)`, true},
	{"1, 2", "2, 1", true},
	{"-2, 3", "x = 3 or x = -2", true},
	{"(1/2, 3)", `\left(\frac{1}{2}, 3\right)`, true},
	{`1 \pm \sqrt{2}`, `1+\sqrt{2}, 1-\sqrt{2}`, true},
	{`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, `\begin{pmatrix}1\\2\end{pmatrix}`, true},
	{`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, `\begin{pmatrix}2\\1\end{pmatrix}`, false},
	// Expressions with variables.
	{"2x+3", "3+2x", true},
	{"x^2-1", "(x-1)(x+1)", true},
	{"x^2-1", "(x-1)^2", false},
	{`\frac{x}{2}`, "0.5x", true},
	{"3n", "3m", false},
	// Answer extraction from whole completions.
	{"#### 14", "Step 1: 3+4=7.\nStep 2: 7*2=14.\nSo she has 14 apples.", true},
	{"#### 7", "Step 1: 3+4=7. The answer is 7.\nCheck: 7*2 = 14.", true},
	{"#### 7", "Step 1: 3+4=7.\n#### 7", true},
	{"#### 7", "We get 12 first, then the final answer is \\boxed{7}. That was step 3.", true},
	{"#### 7", "<think>maybe 12</think>\nThe answer is 7", true},
	{"#### 7", "<think>it is 7</think>", true},
	{"#### 7", "<answer>7</answer>", true},
	{"#### 7", "<answer>The answer is \\boxed{7}</answer>", true},
	{"#### 7", "<answer> 12 </answer> and later \\boxed{7}", false},
	{"#### 7", "**Final Answer:** 7", true},
	{"#### 7", "Final Answer: The final answer is $7$. I hope it is correct.", true},
	{"#### 7", "The answer is: 7", true},
	{"#### 7", "Answer:\n7", true},
	{"#### 12", "There are 12 eggs; the answer is 12 because 3*4=12.", true},
	{`\frac{1}{2}`, "So the probability is $\\frac{1}{2}$.", true},
	{"3/4", "so she ate 3/4 of the pie", true},
	{"#### 3", "no numbers here", false},
	{"#### 3", "", false},
	{"", "3", false},
	// MATH-style references and model outputs.
	{`\frac{5}{3}`, `The answer is $\boxed{\frac53}$.`, true},
	{`\$1.50`, `\boxed{1.5}`, true},
	{`\$1.50`, `\boxed{\$1.50}`, true},
	{`2\sqrt{5}`, `\boxed{\sqrt{20}}`, true},
	{`\text{(C)}`, `\boxed{C}`, true},
	{`\text{(C)}`, `The answer is (C).`, true},
	{`10\%`, `\boxed{10}`, true},
	{`-\frac{3}{2}`, `\boxed{-1.5}`, true},
	{`\left[ -\frac{1}{2}, 1 \right)`, `\boxed{[-0.5, 1)}`, true},
	{`6 \text{ inches}`, `\boxed{6}`, true},
	{`x^2+7x+10`, `\boxed{(x+2)(x+5)}`, true},
	{`(-\infty,-5]\cup[5,\infty)`, `\boxed{(-\infty, -5] \cup [5, \infty)}`, true},
	{`\infty`, `\boxed{\infty}`, true},
	{`\text{even}`, `\boxed{\text{even}}`, true},
	{`\text{even}`, `even`, true},
	{`\text{odd}`, `\boxed{\text{even}}`, false},
	{`1,\!000`, `1000`, true},
	{`11,\!111`, `\boxed{11111}`, true},
	{`3\sqrt{2}`, `\boxed{\sqrt{18}}`, true},
	{`\frac{\sqrt{3}}{3}`, `\boxed{\frac{1}{\sqrt{3}}}`, true},
	{`4\pi`, `\boxed{4 \pi}`, true},
	{`\frac{9\pi}{2}`, `\boxed{4.5\pi}`, true},
	{`24\pi`, `\boxed{24\pi \text{ cm}^3}`, true},
	{`y = -\frac{1}{2}x + 4`, `\boxed{y=-0.5x+4}`, true},
	{`\mbox{Devon}`, `\boxed{\text{Devon}}`, true},
	{`3 + 4i`, `\boxed{4i+3}`, true},
	{`3 - 4i`, `\boxed{3+4i}`, false},
	{`30^\circ`, `\boxed{30}`, true},
	{`8\text{ cm}^2`, `\boxed{8}`, true},
	{`5\sqrt{2}\text{ units}`, `\boxed{5\sqrt2}`, true},
	{`13.5`, `\boxed{\frac{27}{2}}`, true},
	{`(3, -1)`, `\boxed{(3,-1)}`, true},
	{`\left(\frac{3}{2}, -\frac{1}{2}\right)`, `\boxed{(1.5, -0.5)}`, true},
	{`[-2,7]`, `\boxed{x \in [-2, 7]}`, true},
	{`\{-3, 3\}`, `\boxed{-3, 3}`, true},
	{`-3, 3`, `\boxed{3, -3}`, true},
	{`-3, 3`, `\boxed{3}`, false},
	{`\frac{1}{\sqrt{2}}`, `\frac{\sqrt{2}}{2}`, true},
	{`2^{\frac{1}{2}}`, `\sqrt{2}`, true},
	{`\log_2 8`, `3`, true},
	{`\ln e`, `1`, true},
	{`\dfrac{\sqrt{3}}{2}`, `\boxed{\frac{\sqrt3}{2}}`, true},
	{`0.\overline{3}`, `\boxed{0.\overline{3}}`, true},
	{`\frac{1}{2}`, `\boxed{\dfrac{1}{2}}`, true},
	{`\frac{7}{12}`, `\boxed{\frac{7}{12}}`, true},
	{`6`, `The final answer is $\boxed{6}$`, true},
	{`6`, `**Answer: 6**`, true},
	{`6`, `Answer: $6`, true},
	{`18`, `The answer is $18.`, true},
	{`18`, `So the answer is three.`, false},
	{`3`, `So the answer is three.`, true},
	{`5`, `<answer>She needs 5 more apples</answer>`, true},
	{`14`, `To answer this: first compute 3+4 = 7. Then 7*2 = 14.`, true},
	{`1/2`, `\boxed{0.5}`, true},
	{`\frac{2}{3}`, `\boxed{0.67}`, false},
	{`\frac{2}{3}`, `\boxed{0.6667}`, false},
	{`\frac{2}{3}`, `\boxed{0.666667}`, true},
	{`10`, `\boxed{10.00}`, true},
	{`100`, `\boxed{1 \times 10^2}`, true},
	{`\sqrt{3}`, `\boxed{3^{1/2}}`, true},
	{`2`, `\boxed{\sqrt[3]{8}}`, true},
	{`-2`, `\boxed{\sqrt[3]{-8}}`, true},
	{`\begin{pmatrix} 1 \\ -2 \end{pmatrix}`, `\boxed{\begin{pmatrix} 1 \\ -2 \end{pmatrix}}`, true},
	{`\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}`, `\boxed{\begin{pmatrix}1&2\\3&4\end{pmatrix}}`, true},
	{`\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}`, `\boxed{\begin{pmatrix}1&2\\4&3\end{pmatrix}}`, false},
	{`\frac{1}{4}`, `\boxed{25\%}`, true},
	{`x=2`, `\boxed{2}`, true},
	{`2`, `\boxed{x=2}`, true},
	{`\{1,2,3\}`, `\boxed{\{3,2,1\}}`, true},
	{`a^2+b^2`, `\boxed{b^2+a^2}`, true},
	{`\frac{a+b}{2}`, `\boxed{\frac{a}{2}+\frac{b}{2}}`, true},
	{`\theta`, `\boxed{\theta}`, true},
	{`2\theta`, `\boxed{\theta+\theta}`, true},
	{`x_1+x_2`, `\boxed{x_2+x_1}`, true},
	{`|x|`, `\boxed{\left|x\right|}`, true},
	{`5`, `\boxed{|-5|}`, true},
	{`0`, `\boxed{\sin(\pi)}`, true},
	{`\frac{1}{2}`, `\boxed{\cos(\pi/3)}`, true},
	{`\frac{1}{2}`, `\boxed{\cos 60^\circ}`, false},
	{`1.5`, `\boxed{1\frac{1}{2}}`, true},
	{`\text{No}`, `\boxed{\text{no}}`, true},
	{`\text{A, C}`, `\boxed{\text{C, A}}`, true},
	{`\$42`, `\$42.00`, true},
	{`2\text{ hours}`, `2 hrs`, true},
	{`3.14`, `\pi`, false},
	{`7`, `\boxed{7} \text{ (this is the answer)}`, true},
	{`4`, `The value of $x$ is $\boxed{4}$, and $y = 3$.`, true},
	{`12`, `$$\boxed{12}$$`, true},
	{`0.1`, `\boxed{10\%}`, true},
	{`200`, `\boxed{200}`, true},
	{`2000`, `\boxed{2,000}`, true},
	{`\frac{-3}{4}`, `\boxed{-\frac{3}{4}}`, true},
	{`-\frac{3}{4}`, `\boxed{\frac{3}{-4}}`, true},
	{`\dfrac{1}{6}`, `\boxed{1/6}`, true},
	{`\frac{1}{6}`, `\boxed{0.1667}`, false},
	{`\frac{1}{6}`, `\boxed{0.16666667}`, true},
	{`9`, `\boxed{9.0}`, true},
	{`\sqrt{2}+\sqrt{3}`, `\boxed{\sqrt{3}+\sqrt{2}}`, true},
	{`\frac{1+\sqrt{5}}{2}`, `\boxed{\frac{\sqrt{5}+1}{2}}`, true},
	{`\frac{1+\sqrt{5}}{2}`, `\boxed{1.618034}`, true},
	{`\frac{1+\sqrt{5}}{2}`, `\boxed{1.6180339887}`, true},
	{`y^4-2y^3+7y^2+y-5`, `\boxed{y^4 - 2y^3 + 7y^2 + y - 5}`, true},
	{`(2,-3)`, `The point is $(2, -3)$.`, true},
	{`\frac{\pi}{4}`, `\boxed{45^\circ}`, false},
	{`150`, `The measure is $150^\circ$.`, true},
	{`\$32`, `He earns $\$32$.`, true},
	{`20\%`, `\boxed{20\%}`, true},
	{`-1`, `\boxed{-1}`, true},
	{`1`, `\boxed{-1}`, false},
	{`\frac{1}{3}`, `The probability is $\frac{1}{3}$.`, true},
	{`6`, `The answer is: 6`, true},
	{`21`, `Therefore, the answer is 21 years old.`, true},
	{`2`, `It takes 2 bolts of blue fiber and 1 bolt of white fiber, so 3 bolts in total.`, false},
	{`3`, `It takes 2 bolts of blue fiber and 1 bolt of white fiber, so 3 bolts in total.`, true},
	// Assorted phrasing, units and notation.
	{`18`, `\boxed{\text{18 dollars}}`, true},
	{`18`, `\$\boxed{18}`, true},
	{`3`, `03`, true},
	{`1/0`, `1/0`, true},
	{`5`, `\boxed{5`, true},
	{`0.5`, `\frac{1}{2} \text{ hour}`, true},
	{`3.14`, `x \approx 3.14`, true},
	{`\pm 2`, `2, -2`, true},
	{`2, -2`, `x = \pm 2`, true},
	{`3.25`, `3\frac{1}{4}`, true},
	{`1234.56`, `1,234.56`, true},
	{`\dfrac{10}{3}`, `3.333333`, true},
	{`\dfrac{10}{3}`, `3.33`, false},
	{`6`, `2 \times 3`, true},
	{`3`, `6 \div 2`, true},
	{`42`, `so x = 6*7 = 42`, true},
	{`42`, `The answer is **42**.`, true},
	{`42`, `**The final answer is 42**`, true},
	{`42`, `ANSWER: 42`, true},
	{`42`, `The answer: 42`, true},
	{`42`, `The answer is 42 (since 6*7).`, true},
	{`42`, `The answer is 42 (since 6*7 = 43).`, true},
	{`25`, `25^\circ C`, true},
	{`25`, `25°C`, true},
	{`1000`, `\$ 1,000`, true},
	{`6.02e23`, `6.02 \times 10^{23}`, true},
	{`1024`, `2^{10} = 1024`, true},
	{`-5`, `The temperature dropped to -5 degrees.`, true},
	{`5`, `The temperature dropped to -5 degrees.`, false},
	{`0.5`, `<answer>\frac{1}{2}</answer>`, true},
	{`18`, "<answer>\n18\n</answer>", true},
	{`(B)`, `\textbf{(B)}`, true},
	{`2, 3`, `\boxed{2 \text{ and } 3}`, true},
	{`5`, `+5`, true},
	{`5\%`, `5.0%`, true},
	{`1+2\sqrt{3}`, `2\sqrt3+1`, true},
	{`\frac{-b \pm \sqrt{b^2-4ac}}{2a}`, `\frac{-b \pm \sqrt{b^2-4ac}}{2a}`, true},
	{`4`, `The answer is 4, as shown above.`, true},
	{`4`, `Therefore, there are 4 ways.`, true},
	{`8`, `She has $8 left.`, true},
	{`8`, `She has \$8 left, and spent $12.`, false},
	{`0.2`, `20 \%`, true},
	{`7`, `\boxed{7}.`, true},
	{`1/2`, `The probability is 1/2.`, true},
	{`\frac{1}{2}`, `The probability is $\dfrac{1}{2}$.`, true},
	{`\frac{1}{12}`, `$P = \frac{1}{12}$`, true},
	{`54`, `Total = 18 * 3 = $54`, true},
	{`4`, `x = 4 \text{ or } x = 4`, false},
	{`10`, `ten`, true},
	{`\frac{3}{2}`, `1.5`, true},
	{`\frac{3}{2}`, `1 1/2`, true},
	{`(-2,1)`, `x\in(-2,1)`, true},
	{`y=3x+2`, `y = 2 + 3x`, true},
	{`2x`, `2*x`, true},
	{`x^2`, `x**2`, true},
	{`\sqrt{x}`, `x^{1/2}`, true},
	{`\frac{1}{x}`, `x^{-1}`, true},
	{`64`, `4^3`, true},
	{`2`, `\log_{2} 4`, true},
	{`12`, `\$12.00\text{ per hour}`, true},
	{`3`, `3 \text{ m}`, true},
	{`5`, "The answer is\n\n$$5$$", true},
	{`5`, "Final Answer\n5", true},
	{`36`, "6^2 = 36\n\n**Answer:** \\(36\\)", true},
	{`36`, "\\[\\boxed{36}\\]", true},
	{`1`, "\\boxed{1}\\boxed{2}", false},
	{"2, 3", `The roots are $\boxed{2}$ and $\boxed{3}$.`, true},
	{"3", `First \boxed{2}, then the final answer is \boxed{3}.`, true},
	{"18", `\boxed{18 \text{ (dollars)}}`, true},
	// Wrong answers that look close.
	{"5", `\boxed{5x}`, false},
	{"2", `\boxed{2, 3}`, false},
	{"10", "10 or 12", false},
	{"x", "y", false},
	{"1/2", "2/4", true},
	{"0", "", false},
}

func TestEquivalentCases(t *testing.T) {
	f, err := NewRegistry().New("math_equal", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range mathCases {
		s, err := f.Score(context.Background(), Sample{Task: retrain.Task{Answer: c.gold}, Completion: c.pred, Step: -1})
		if err != nil {
			t.Fatalf("gold %q pred %q: %v", c.gold, c.pred, err)
		}
		if got := s.Value == 1; got != c.want {
			t.Errorf("gold %q pred %q: equal = %v, want %v (extracted %q; %s)", c.gold, c.pred, got, c.want, s.Extracted, s.Detail)
		}
	}
}

func TestExtractAnswer(t *testing.T) {
	tests := []struct {
		completion, answer, method string
	}{
		{"<answer> 42 </answer>", "42", MethodAnswerTag},
		{"<ANSWER>42", "42", MethodAnswerTag},
		{`<answer>so \boxed{7}</answer>`, "7", MethodAnswerTag},
		{`first \boxed{3}, then \boxed{\frac{1}{2}} done`, `\frac{1}{2}`, MethodBoxed},
		{`\boxed{\{1, \{2\}\}}`, `\{1, \{2\}\}`, MethodBoxed},
		{`\boxed{a{b}c}`, `a{b}c`, MethodBoxed},
		{`\fbox{9}`, "9", MethodBoxed},
		{`\boxed 5 is it`, "5", MethodBoxed},
		{"work\n#### 1,234\nmore", "1,234", MethodHashes},
		{"The answer is 12.", "12", MethodPhrase},
		{"Final answer: 3/4", "3/4", MethodPhrase},
		{"The answer is $18$. I hope it is correct.", "18", MethodPhrase},
		{"x = 5", "x = 5", MethodWhole},
		{`\frac{1}{2}`, `\frac{1}{2}`, MethodWhole},
		{"10 dollars", "10 dollars", MethodWhole},
		{"Monday", "Monday", MethodWhole},
		{"The point is $(2, -3)$.", "(2, -3)", MethodLastMath},
		{"3 apples plus 4 apples make 7 apples in all.", "7", MethodLastNumber},
		{"pages 3-4", "4", MethodLastNumber},
		{"it went to -4 overnight", "-4", MethodLastNumber},
		{"she paid $1,250.50 in total", "1,250.50", MethodLastNumber},
		{"<think>The answer is 3.</think>The answer is 4.", "4", MethodPhrase},
		{"<think>The answer is 3.</think>", "3", MethodPhrase},
		{"The answer is 7\n\nQuestion: What is 3+5?\nThe answer is 8", "7", MethodPhrase},
		{"Problem: what is 3+4?\nThe answer is 7.", "7", MethodPhrase},
		{"The correct option is (C).", "(C)", MethodPhrase},
		{"(B) 12", "(B) 12", MethodWhole},
		{`\textbf{(D) } 5`, `\textbf{(D) } 5`, MethodWhole},
		{"3:1", "3:1", MethodWhole},
		{"He needs 160 minutes (2 hours 40 minutes).", "160", MethodLastNumber},
		{`so the probability is $\frac{1}{6}$, or about 16.7\%.`, `\frac{1}{6}`, MethodLastMath},
		{"The house is worth $1.5 million.", "1.5 million", MethodLastNumber},
		{"", "", ""},
		{"I cannot say, there is not enough information here\nsorry", "", ""},
	}
	for _, tt := range tests {
		a, m := ExtractAnswer(tt.completion)
		if a != tt.answer || m != tt.method {
			t.Errorf("ExtractAnswer(%q) = %q, %q; want %q, %q", tt.completion, a, m, tt.answer, tt.method)
		}
	}
}

func TestReferenceAnswer(t *testing.T) {
	tests := map[string]string{
		"Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18": "18",
		`The sum is $\boxed{\frac{3}{4}}$.`:                                `\frac{3}{4}`,
		"<answer>7</answer>":                                               "7",
		"  (1, 2) ":                                                        "(1, 2)",
		"The answer is 5":                                                  "The answer is 5", // not a solution format: kept whole
	}
	for gold, want := range tests {
		if got := ReferenceAnswer(gold); got != want {
			t.Errorf("ReferenceAnswer(%q) = %q, want %q", gold, got, want)
		}
	}
}

func TestMathEqualStrictAndTolerance(t *testing.T) {
	reg := NewRegistry()
	ctx := context.Background()
	score := func(params map[string]any, gold, pred string) float64 {
		t.Helper()
		f, err := reg.New("math_equal", params)
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.Score(ctx, Sample{Task: retrain.Task{Answer: gold}, Completion: pred, Step: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s.Value
	}
	if got := score(map[string]any{"strict": true}, "7", "so we get 7"); got != 0 {
		t.Errorf("strict without a marked answer scored %v, want 0", got)
	}
	if got := score(map[string]any{"strict": true}, "7", `so \boxed{7}`); got != 1 {
		t.Errorf("strict with a boxed answer scored %v, want 1", got)
	}
	if got := score(map[string]any{"tolerance": 0.01}, `\pi`, "3.14"); got != 1 {
		t.Errorf("tolerance 0.01: pi vs 3.14 scored %v, want 1", got)
	}
	if got := score(nil, `\pi`, "3.14"); got != 0 {
		t.Errorf("default tolerance: pi vs 3.14 scored %v, want 0", got)
	}
	if _, err := reg.New("math_equal", map[string]any{"tolerance": 2.0}); !errors.Is(err, ErrBadParams) {
		t.Errorf("tolerance 2: err = %v, want ErrBadParams", err)
	}
}

func TestExactMatch(t *testing.T) {
	tests := []struct {
		params     map[string]any
		gold, pred string
		want       float64
	}{
		{nil, "Paris", "The answer is paris.", 1},
		{nil, "Paris", "The answer is Lyon.", 0},
		{map[string]any{"case_sensitive": true}, "Paris", "The answer is paris.", 0},
		{map[string]any{"case_sensitive": true}, "Paris", "The answer is Paris.", 1},
		{nil, "New York", "<answer>new   york</answer>", 1},
		{nil, "New York", "<answer>newyork</answer>", 0},
		{map[string]any{"ignore_whitespace": true}, "New York", "<answer>newyork</answer>", 1},
		{nil, "U.S.A.", "<answer>USA</answer>", 0},
		{map[string]any{"ignore_punctuation": true}, "U.S.A.", "<answer>USA</answer>", 1},
		{map[string]any{"ignore_punctuation": true}, "$5", "<answer>5</answer>", 1},
		{nil, "#### 18", "<answer>18</answer>", 1},
		{nil, "18", "<answer>18.0</answer>", 0}, // exact, not mathematical
		{map[string]any{"extract": false}, "hello world", "Hello  World", 1},
		{map[string]any{"extract": false}, "hello", "The answer is hello", 0},
		{nil, "Paris", `\boxed{\text{Paris}}`, 1},
		{nil, "Paris", "**Paris**", 1},
		{nil, "Paris", "Paris.", 1},
		{nil, "Paris", `$\text{Paris}$`, 1},
		{nil, `\text{Paris}`, "<answer>\\textbf{Paris}</answer>", 1},
		{nil, "18", "$18$", 1},
		{nil, "Paris", `\boxed{\text{Lyon}}`, 0},
		{nil, "U.S.A.", "<answer>U.S.A</answer>", 0}, // only a lone final period goes
	}
	reg := NewRegistry()
	for _, tt := range tests {
		if s := scoreGold(t, reg, "exact_match", tt.params, tt.gold, tt.pred); s.Value != tt.want {
			t.Errorf("exact_match %v gold %q pred %q = %v, want %v (extracted %q)", tt.params, tt.gold, tt.pred, s.Value, tt.want, s.Extracted)
		}
	}
}

// scoreGold scores pred against the answer gold, rollout-level, with the
// reward name of reg built with params.
func scoreGold(t *testing.T, reg *Registry, name string, params map[string]any, gold, pred string) Score {
	t.Helper()
	f, err := reg.New(name, params)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.Score(context.Background(), Sample{Task: retrain.Task{Answer: gold}, Completion: pred, Step: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNumeric(t *testing.T) {
	tests := []struct {
		params     map[string]any
		gold, pred string
		want       float64
	}{
		{nil, "#### 1,000", "The answer is 1000.", 1},
		{nil, "100", "100.00001", 1},
		{nil, "100", "100.1", 0},
		{map[string]any{"abs_tol": 0.5}, "100", "100.4", 1},
		{map[string]any{"rel_tol": 0.01}, "100", "100.9", 1},
		{map[string]any{"rel_tol": 0.01}, "100", "102", 0},
		{nil, "0.5", `\frac{1}{2}`, 1},
		{nil, "50", "50%", 1},
		{nil, "5", "(1, 2)", 0},
		{nil, "5", "x + 1", 0},
		{nil, "abc", "5", 0},
		{nil, "5", "5 m", 1},
		{nil, "5", "5 x", 0},
		{nil, "1500000", "It sold for $1.5 million.", 1},
		{nil, "21", "twenty-one", 1},
		{nil, "5", "x > 5", 0},
		{nil, "0.5", `\boxed{50\%}`, 1},
	}
	reg := NewRegistry()
	for _, tt := range tests {
		if s := scoreGold(t, reg, "numeric", tt.params, tt.gold, tt.pred); s.Value != tt.want {
			t.Errorf("numeric %v gold %q pred %q = %v, want %v", tt.params, tt.gold, tt.pred, s.Value, tt.want)
		}
	}
	if _, err := reg.New("numeric", map[string]any{"abs_tol": -1}); !errors.Is(err, ErrBadParams) {
		t.Errorf("abs_tol -1: err = %v, want ErrBadParams", err)
	}
}

func TestNormalizeAnswerRewrites(t *testing.T) {
	tests := map[string]string{
		`0.\overline{3}`:             `\frac{3}{9}`,
		`0.1\overline{6}`:            `\frac{15}{90}`,
		`1.\overline{36}`:            `\frac{135}{99}`,
		"1.5 million":                "1500000",
		"2,500 thousand":             "2500000",
		"0.25 million":               "250000",
		"twenty-one":                 "21",
		"one hundred and five":       "105",
		"three thousand two hundred": "3200",
		"one two":                    "one two",
		"twenty twenty":              "twenty twenty",
		"3rd":                        "3",
		"Sunday!":                    "Sunday",
		"5!":                         "5!",
		"n!":                         "n!",
		"½":                          `\frac{1}{2}`,
		"x²":                         "x^2",
		`\varnothing`:                `\emptyset`,
		`\{ \}`:                      `\emptyset`,
		`\mathbb{R}`:                 `(-\infty,\infty)`,
		`\text{all real numbers}`:    `(-\infty,\infty)`,
		`{10 \choose 3}`:             `\binom{10}{3}`,
		`\langle 1, 2\rangle`:        "( 1, 2)",
		"1, 2, and 3":                "1, 2 , 3",
	}
	for in, want := range tests {
		if got := normalizeAnswer(in); got != want {
			t.Errorf("normalizeAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLooseKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"x^{2}", "x^2", true},
		{`\frac{1}{2}`, `\frac12`, true},
		{"(B)", "b", true},
		{"Monday", "mon day", true},
		{"2^{x+1}", "2^x+1", false}, // braces around more than one character matter
		{`\sqrt{2x}`, `\sqrt{2}x`, false},
		{"2 1/2", "21/2", false}, // a space between digits matters
	}
	for _, tt := range tests {
		if got := looseKey(tt.a) == looseKey(tt.b); got != tt.same {
			t.Errorf("looseKey(%q) == looseKey(%q) is %v, want %v (%q, %q)", tt.a, tt.b, got, tt.same, looseKey(tt.a), looseKey(tt.b))
		}
	}
}

// TestInequalityIntervals checks the interval each inequality is read as.
func TestInequalityIntervals(t *testing.T) {
	tests := []struct{ ineq, interval string }{
		{"x > 3", `(3,\infty)`},
		{`x \ge 3`, `[3,\infty)`},
		{"3 < x", `(3,\infty)`},
		{"x < 3", `(-\infty,3)`},
		{`5 \geq x`, `(-\infty,5]`},
		{`-2 \le x < 7`, "[-2,7)"},
		{`7 > x \geqslant -2`, "[-2,7)"},
		{"0 < t <= 1", "(0,1]"},
		{`\frac{1}{2} \lt y \lt \pi`, `(\frac{1}{2},\pi)`},
	}
	for _, tt := range tests {
		a, err := parseAnswer(normalizeAnswer(tt.ineq))
		if err != nil {
			t.Errorf("parseAnswer(%q): %v", tt.ineq, err)
			continue
		}
		b, err := parseAnswer(tt.interval)
		if err != nil {
			t.Fatalf("parseAnswer(%q): %v", tt.interval, err)
		}
		if !equalAnswers(a, b, DefaultTolerance) {
			t.Errorf("%q is not read as %q", tt.ineq, tt.interval)
		}
	}
	for _, bad := range []string{"x < y", "1 < 2", "x < 3 > 2", "x < (1,2)", "<"} {
		if _, err := parseAnswer(bad); err == nil {
			t.Errorf("parseAnswer(%q) succeeded; want an error (not an inequality in one variable)", bad)
		}
	}
}
