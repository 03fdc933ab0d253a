package reward

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// This file reads one mathematical expression, in plain notation or LaTeX,
// into a tree: numbers, constants, variables, + - * / ^, implicit
// multiplication, \frac, \sqrt, functions, factorial, percent, |x|, and
// mixed numbers ("2 1/2", "2\frac{1}{2}").

type tokKind uint8

const (
	tEOF   tokKind = iota
	tNum           // 12, 1.5, .5, 1e3
	tIdent         // a run of ASCII letters
	tCmd           // \frac, \pi
	tOp            // + - * / ^ ! % = , | _
	tOpen          // ( [ { \{
	tClose         // ) ] } \}
)

type token struct {
	kind  tokKind
	text  string
	space bool // whitespace came before the token
}

// maxExprLen bounds the expressions parsed; maxDepth bounds nesting.
const (
	maxExprLen = 1000
	maxDepth   = 100
)

var errSyntax = errors.New("not a mathematical expression")

// dropCmds are LaTeX commands without mathematical meaning.
var dropCmds = map[string]bool{
	`\left`: true, `\right`: true, `\bigl`: true, `\bigr`: true, `\Bigl`: true, `\Bigr`: true,
	`\big`: true, `\Big`: true, `\bigg`: true, `\Bigg`: true, `\displaystyle`: true,
	`\quad`: true, `\qquad`: true, `\limits`: true,
}

func lex(s string) ([]token, error) {
	if len(s) > maxExprLen {
		return nil, fmt.Errorf("%w: too long", errSyntax)
	}
	var toks []token
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
			i++
			continue
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]) {
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			} else if j < len(s) && s[j] == '.' && (j+1 == len(s) || !isLetter(s[j+1])) && j > i {
				j++ // "5." as in "5.\,"
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && isDigit(s[k]) {
					for k < len(s) && isDigit(s[k]) {
						k++
					}
					j = k
				}
			}
			toks = append(toks, token{tNum, s[i:j], space})
			i = j
		case isLetter(c):
			j := i
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			if w := s[i:j]; len(w) == 2 && !funcNames[w] && !mathNames[w] {
				// "xy" is x times y, so "yx^2" is y·x².
				toks = append(toks, token{tIdent, w[:1], space}, token{tIdent, w[1:], false})
			} else {
				toks = append(toks, token{tIdent, w, space})
			}
			i = j
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: trailing backslash", errSyntax)
			}
			n := s[i+1]
			switch {
			case isLetter(n):
				j := i + 1
				for j < len(s) && isLetter(s[j]) {
					j++
				}
				cmd := s[i:j]
				if !dropCmds[cmd] {
					toks = append(toks, token{tCmd, cmd, space})
				}
				i = j
				if (cmd == `\left` || cmd == `\right`) && j < len(s) && s[j] == '.' {
					i++ // \left. is an invisible delimiter
				}
				space = false
				continue
			case n == '{':
				toks = append(toks, token{tOpen, `\{`, space})
			case n == '}':
				toks = append(toks, token{tClose, `\}`, space})
			case n == '%':
				toks = append(toks, token{tOp, "%", space})
			case n == '|':
				toks = append(toks, token{tOp, "|", space})
			case n == ',' || n == ';' || n == '!' || n == ':' || n == ' ' || n == '$':
			default:
				return nil, fmt.Errorf("%w: unexpected %q", errSyntax, s[i:i+2])
			}
			i += 2
		case c == '*' && i+1 < len(s) && s[i+1] == '*':
			toks = append(toks, token{tOp, "^", space})
			i += 2
		case strings.IndexByte("+-*/^!%=,|_", c) >= 0:
			toks = append(toks, token{tOp, string(c), space})
			i++
		case c == '(' || c == '[' || c == '{':
			toks = append(toks, token{tOpen, string(c), space})
			i++
		case c == ')' || c == ']' || c == '}':
			toks = append(toks, token{tClose, string(c), space})
			i++
		default:
			return nil, fmt.Errorf("%w: unexpected %q", errSyntax, string(c))
		}
		space = false
	}
	return toks, nil
}

// node is an expression tree node.
type node struct {
	op   string   // see the op constants
	num  *big.Rat // opNum
	dec  bool     // opNum written with a decimal point or exponent
	name string   // opVar, opConst, opFunc
	args []*node
}

const (
	opNum   = "num"
	opVar   = "var"
	opConst = "const" // name: pi, e, inf
	opNeg   = "neg"
	opAdd   = "+"
	opSub   = "-"
	opMul   = "*"
	opDiv   = "/"
	opPow   = "^"
	opSqrt  = "sqrt"
	opRoot  = "root" // args: radicand, index
	opFunc  = "func" // name: sin, ln, log (args: x, optional base)
	opFact  = "!"
	opPct   = "%"
	opAbs   = "abs"
	opBinom = "binom"
)

type parser struct {
	toks  []token
	pos   int
	depth int
}

// parseExpr parses s as one expression.
func parseExpr(s string) (*node, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: empty", errSyntax)
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("%w: unexpected %q", errSyntax, t.text)
	}
	return n, nil
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) peekAt(k int) token {
	if p.pos+k < len(p.toks) {
		return p.toks[p.pos+k]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *parser) isOp(text string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == text
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return fmt.Errorf("%w: nested too deeply", errSyntax)
	}
	return nil
}

// expr := term {(+|-) term}
func (p *parser) expr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	left, err = p.termRest(left)
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.next().text
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		left = &node{op: op, args: []*node{left, right}}
	}
	return left, nil
}

// term := unary {(* | / | \times | \cdot | \div | implicit) factor}
func (p *parser) term() (*node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	return p.termRest(left)
}

func (p *parser) termRest(left *node) (*node, error) {
	for {
		t := p.peek()
		var op string
		switch {
		case t.kind == tOp && (t.text == "*" || t.text == "/"):
			op = t.text
		case t.kind == tCmd && (t.text == `\times` || t.text == `\cdot` || t.text == `\ast`):
			op = opMul
		case t.kind == tCmd && t.text == `\div`:
			op = opDiv
		case startsImplicitFactor(t):
			right, err := p.power()
			if err != nil {
				return nil, err
			}
			left = &node{op: opMul, args: []*node{left, right}}
			continue
		default:
			return left, nil
		}
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &node{op: op, args: []*node{left, right}}
	}
}

// startsImplicitFactor reports whether t begins a factor multiplied without
// a sign: "2x", "2\sqrt{2}", "3(4)", "2\pi".
func startsImplicitFactor(t token) bool {
	switch t.kind {
	case tIdent:
		return true
	case tOpen:
		return t.text == "(" || t.text == "{"
	case tCmd:
		switch t.text {
		case `\times`, `\cdot`, `\ast`, `\div`, `\pm`, `\mp`, `\cup`, `\in`:
			return false
		}
		return true
	}
	return false
}

// unary := (-|+) unary | power
func (p *parser) unary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.isOp("-") {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{op: opNeg, args: []*node{x}}, nil
	}
	if p.isOp("+") {
		p.next()
		return p.unary()
	}
	return p.power()
}

// power := postfix [^ unary]
func (p *parser) power() (*node, error) {
	base, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if !p.isOp("^") {
		return base, nil
	}
	p.next()
	exp, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &node{op: opPow, args: []*node{base, exp}}, nil
}

// postfix := primary {! | %}
func (p *parser) postfix() (*node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("!"):
			p.next()
			x = &node{op: opFact, args: []*node{x}}
		case p.isOp("%"):
			p.next()
			x = &node{op: opPct, args: []*node{x}}
		default:
			return x, nil
		}
	}
}

func (p *parser) primary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.next()
	switch t.kind {
	case tNum:
		n, err := numberNode(t.text)
		if err != nil {
			return nil, err
		}
		return p.mixedNumber(n, t.text), nil
	case tOpen:
		if t.text == "[" || t.text == `\{` {
			return nil, fmt.Errorf("%w: unexpected %q", errSyntax, t.text)
		}
		return p.group(t.text)
	case tOp:
		if t.text == "|" {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if !p.isOp("|") {
				return nil, fmt.Errorf("%w: unclosed |", errSyntax)
			}
			p.next()
			return &node{op: opAbs, args: []*node{x}}, nil
		}
	case tCmd:
		return p.command(t.text)
	case tIdent:
		return p.ident(t.text)
	case tEOF:
		return nil, fmt.Errorf("%w: unexpected end", errSyntax)
	}
	return nil, fmt.Errorf("%w: unexpected %q", errSyntax, t.text)
}

// group reads the expression after the bracket open and the bracket that
// closes it.
func (p *parser) group(open string) (*node, error) {
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	want := map[string]string{"(": ")", "{": "}", "[": "]", `\{`: `\}`}[open]
	if t := p.next(); t.kind != tClose || t.text != want {
		return nil, fmt.Errorf("%w: %q not closed by %q", errSyntax, open, want)
	}
	return x, nil
}

// numberNode reads a numeric literal exactly.
func numberNode(text string) (*node, error) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(text), "e")
	mant = strings.TrimSuffix(mant, ".")
	r, ok := new(big.Rat).SetString(mant)
	if !ok {
		return nil, fmt.Errorf("%w: bad number %q", errSyntax, text)
	}
	n := &node{op: opNum, num: r, dec: strings.Contains(mant, ".")}
	if hasExp {
		e, ok := new(big.Int).SetString(strings.TrimPrefix(exp, "+"), 10)
		if !ok || !e.IsInt64() || e.Int64() > 400 || e.Int64() < -400 {
			return nil, fmt.Errorf("%w: exponent out of range in %q", errSyntax, text)
		}
		n.num.Mul(n.num, pow10(e.Int64()))
	}
	return n, nil
}

func pow10(e int64) *big.Rat {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(e)), nil)
	if e < 0 {
		return new(big.Rat).SetFrac(big.NewInt(1), p)
	}
	return new(big.Rat).SetInt(p)
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// mixedNumber reads a proper fraction following an integer as a mixed
// number: "2 1/2" and "2\frac{1}{2}" are 2.5.
func (p *parser) mixedNumber(whole *node, text string) *node {
	if !isInteger(text) {
		return whole
	}
	var num, den string
	var adv int
	switch t := p.peek(); {
	case t.kind == tCmd && t.text == `\frac`:
		a, b, c, d, e, f := p.peekAt(1), p.peekAt(2), p.peekAt(3), p.peekAt(4), p.peekAt(5), p.peekAt(6)
		if a.text != "{" || b.kind != tNum || c.text != "}" || d.text != "{" || e.kind != tNum || f.text != "}" {
			return whole
		}
		num, den, adv = b.text, e.text, 7
	case t.kind == tNum && t.space:
		slash, d, after := p.peekAt(1), p.peekAt(2), p.peekAt(3)
		if slash.kind != tOp || slash.text != "/" || d.kind != tNum || after.kind == tOp && after.text == "^" {
			return whole
		}
		num, den, adv = t.text, d.text, 3
	default:
		return whole
	}
	if !isInteger(num) || !isInteger(den) {
		return whole
	}
	n, _ := new(big.Rat).SetString(num)
	d, _ := new(big.Rat).SetString(den)
	if d.Sign() == 0 || n.Cmp(d) >= 0 {
		return whole
	}
	p.pos += adv
	frac := &node{op: opNum, num: new(big.Rat).Quo(n, d)}
	return &node{op: opAdd, args: []*node{whole, frac}}
}

func isInteger(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// latexArg reads one LaTeX argument: a {group}, or a single digit, letter
// or command ("\frac12", "\sqrt2", "\frac\pi2").
func (p *parser) latexArg() (*node, error) {
	t := p.peek()
	switch t.kind {
	case tOpen:
		if t.text != "{" && t.text != "(" {
			break
		}
		p.next()
		return p.group(t.text)
	case tNum:
		if len(t.text) > 1 && isDigit(t.text[0]) && isDigit(t.text[1]) {
			p.toks[p.pos].text = t.text[1:]
			p.toks[p.pos].space = false
			return numberNode(t.text[:1])
		}
		p.next()
		return numberNode(t.text)
	case tIdent:
		if len(t.text) > 1 && !mathNames[t.text] {
			p.toks[p.pos].text = t.text[1:]
			p.toks[p.pos].space = false
			return p.ident(t.text[:1])
		}
		p.next()
		return p.ident(t.text)
	case tCmd:
		p.next()
		return p.command(t.text)
	}
	return nil, fmt.Errorf("%w: expected an argument, got %q", errSyntax, t.text)
}

// funcNames are the functions written as commands (\sin) or words (sin).
var funcNames = map[string]bool{
	"sin": true, "cos": true, "tan": true, "sec": true, "csc": true, "cot": true,
	"arcsin": true, "arccos": true, "arctan": true, "sinh": true, "cosh": true, "tanh": true,
	"ln": true, "log": true, "exp": true,
}

// greek are the Greek letters read as variables.
var greek = map[string]bool{
	"alpha": true, "beta": true, "gamma": true, "delta": true, "epsilon": true, "varepsilon": true,
	"zeta": true, "eta": true, "theta": true, "vartheta": true, "iota": true, "kappa": true,
	"lambda": true, "mu": true, "nu": true, "xi": true, "rho": true, "sigma": true, "tau": true,
	"upsilon": true, "phi": true, "varphi": true, "chi": true, "psi": true, "omega": true,
	"Gamma": true, "Delta": true, "Theta": true, "Lambda": true, "Xi": true, "Sigma": true,
	"Phi": true, "Psi": true, "Omega": true,
}

// latexArgs2 reads the two LaTeX arguments of a command like \frac{a}{b}
// into a node of op.
func (p *parser) latexArgs2(op string) (*node, error) {
	a, err := p.latexArg()
	if err != nil {
		return nil, err
	}
	b, err := p.latexArg()
	if err != nil {
		return nil, err
	}
	return &node{op: op, args: []*node{a, b}}, nil
}

func (p *parser) command(cmd string) (*node, error) {
	name := cmd[1:]
	switch {
	case name == "frac" || name == "over":
		return p.latexArgs2(opDiv)
	case name == "binom" || name == "dbinom" || name == "tbinom":
		return p.latexArgs2(opBinom)
	case name == "sqrt":
		var index *node
		if t := p.peek(); t.kind == tOpen && t.text == "[" {
			p.next()
			x, err := p.group("[")
			if err != nil {
				return nil, err
			}
			index = x
		}
		x, err := p.latexArg()
		if err != nil {
			return nil, err
		}
		if index != nil {
			return &node{op: opRoot, args: []*node{x, index}}, nil
		}
		return &node{op: opSqrt, args: []*node{x}}, nil
	case name == "pi":
		return &node{op: opConst, name: "pi"}, nil
	case name == "infty" || name == "infin":
		return &node{op: opConst, name: "inf"}, nil
	case funcNames[name]:
		return p.function(name)
	case greek[name]:
		return p.variable(name)
	}
	return nil, fmt.Errorf("%w: unknown command %s", errSyntax, cmd)
}

func (p *parser) ident(word string) (*node, error) {
	switch {
	case word == "pi":
		return &node{op: opConst, name: "pi"}, nil
	case word == "inf" || word == "infty" || word == "infinity" || word == "oo":
		return &node{op: opConst, name: "inf"}, nil
	case word == "sqrt":
		x, err := p.latexArg()
		if err != nil {
			return nil, err
		}
		return &node{op: opSqrt, args: []*node{x}}, nil
	case funcNames[word]:
		return p.function(word)
	case len(word) == 1:
		if word == "e" {
			return &node{op: opConst, name: "e"}, nil
		}
		return p.variable(word)
	case len(word) == 2:
		// Two letters are a product of variables: "xy".
		a, err := p.ident(word[:1])
		if err != nil {
			return nil, err
		}
		b, err := p.ident(word[1:])
		if err != nil {
			return nil, err
		}
		return &node{op: opMul, args: []*node{a, b}}, nil
	}
	return nil, fmt.Errorf("%w: word %q", errSyntax, word)
}

// variable reads a variable name with an optional subscript: x, x_1, a_{n}.
func (p *parser) variable(name string) (*node, error) {
	if p.isOp("_") {
		p.next()
		t := p.next()
		switch {
		case t.kind == tNum || t.kind == tIdent:
			name += "_" + t.text
		case t.kind == tOpen && t.text == "{":
			var sub strings.Builder
			for u := p.next(); !(u.kind == tClose && u.text == "}"); u = p.next() {
				if u.kind == tEOF {
					return nil, fmt.Errorf("%w: unclosed subscript", errSyntax)
				}
				sub.WriteString(u.text)
			}
			name += "_" + sub.String()
		default:
			return nil, fmt.Errorf("%w: bad subscript", errSyntax)
		}
	}
	return &node{op: opVar, name: name}, nil
}

// argContinues reports whether t continues a function's argument written
// without parentheses: a variable, \pi or a Greek letter.
func argContinues(t token) bool {
	switch t.kind {
	case tIdent:
		return !funcNames[t.text] && t.text != "sqrt"
	case tCmd:
		return t.text == `\pi` || greek[t.text[1:]]
	}
	return false
}

// function reads a function application: \sin x, \ln(2), \log_2 8,
// \sin^2 x.
func (p *parser) function(name string) (*node, error) {
	var base, power *node
	var err error
	if p.isOp("_") && name == "log" {
		p.next()
		if base, err = p.latexArg(); err != nil {
			return nil, err
		}
	}
	if p.isOp("^") {
		p.next()
		if power, err = p.latexArg(); err != nil {
			return nil, err
		}
	}
	paren := p.peek().kind == tOpen
	arg, err := p.power()
	if err != nil {
		return nil, err
	}
	// Without parentheses the argument runs on over letters: \sin 2x is
	// sin(2x), \cos 2\theta is cos(2θ); \sin x \cos x stops at \cos.
	for !paren && argContinues(p.peek()) {
		more, err := p.power()
		if err != nil {
			return nil, err
		}
		arg = &node{op: opMul, args: []*node{arg, more}}
	}
	f := &node{op: opFunc, name: name, args: []*node{arg}}
	if base != nil {
		f.args = append(f.args, base)
	}
	if power != nil {
		f = &node{op: opPow, args: []*node{f, power}}
	}
	return f, nil
}
