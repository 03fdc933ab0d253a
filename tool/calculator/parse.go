package calculator

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what Eval accepts.
const (
	// MaxLen is the longest expression accepted, in characters.
	MaxLen = 1000
	// maxDepth bounds the nesting of parentheses, calls and unary signs.
	maxDepth = 100
	// maxLiteralExp bounds the exponent of a number literal such as 1e300
	// (the value must also fit maxBits).
	maxLiteralExp = 10000
)

// Error is an expression the calculator cannot evaluate: a syntax error, a
// division by zero, an unknown function. Column is the 1-based character
// position it refers to, or 0 when it refers to the whole expression.
type Error struct {
	Column  int
	Message string
}

// Error returns the message followed by the column, e.g.
// "division by zero (at column 4)".
func (e *Error) Error() string {
	if e.Column <= 0 {
		return e.Message
	}
	return fmt.Sprintf("%s (at column %d)", e.Message, e.Column)
}

func errorAt(col int, format string, args ...any) *Error {
	return &Error{Column: col, Message: fmt.Sprintf(format, args...)}
}

// tokenKind is the kind of a lexical token.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokNum
	tokIdent
	tokOp // + - * / % ^ ** ( ) ,
)

type token struct {
	kind tokenKind
	text string
	col  int // 1-based character column
}

// describe names the token in error messages.
func (t token) describe() string {
	if t.kind == tokEOF {
		return "the end of the expression"
	}
	return strconv.Quote(t.text)
}

// lex splits expr into tokens.
func lex(expr string) ([]token, error) {
	var toks []token
	col := 0
	for i := 0; i < len(expr); {
		r, size := utf8.DecodeRuneInString(expr[i:])
		col++
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i += size
		case r >= '0' && r <= '9' || r == '.':
			n, err := scanNumber(expr[i:], col)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokNum, expr[i : i+n], col})
			i += n
			col += n - 1
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			n := 1
			for i+n < len(expr) && isIdentByte(expr[i+n]) {
				n++
			}
			toks = append(toks, token{tokIdent, expr[i : i+n], col})
			i += n
			col += n - 1
		case r == '*' && strings.HasPrefix(expr[i:], "**"):
			toks = append(toks, token{tokOp, "**", col})
			i += 2
			col++
		case strings.ContainsRune("+-*/%^(),", r):
			toks = append(toks, token{tokOp, string(r), col})
			i += size
		case r == utf8.RuneError && size == 1:
			return nil, errorAt(col, "syntax error: the expression is not valid UTF-8")
		default:
			hint := ""
			switch r {
			case '×', '·':
				hint = `; use "*" for multiplication`
			case '÷':
				hint = `; use "/" for division`
			case '−', '–':
				hint = `; use "-" for subtraction`
			case '=':
				hint = "; write only the expression, without \"=\""
			}
			return nil, errorAt(col, "syntax error: unexpected character %q%s", r, hint)
		}
	}
	return append(toks, token{tokEOF, "", col + 1}), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scanNumber returns the length of the number literal at the start of s:
// digits, an optional fraction, an optional exponent.
func scanNumber(s string, col int) (int, error) {
	n, digits := 0, 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
		digits++
	}
	if n < len(s) && s[n] == '.' {
		n++
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
			digits++
		}
	}
	if digits == 0 {
		return 0, errorAt(col, "syntax error: %q is not a number", s[:n])
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		start := m
		for m < len(s) && s[m] >= '0' && s[m] <= '9' {
			m++
		}
		if m == start {
			return 0, errorAt(col, "syntax error: malformed number %q: the exponent after %q has no digits", s[:m], s[n:n+1])
		}
		if e, err := strconv.Atoi(s[start:m]); err != nil || e > maxLiteralExp {
			return 0, errorAt(col, "the exponent of %q is too large; the limit is %d", s[:m], maxLiteralExp)
		}
		n = m
	}
	if n < len(s) && s[n] == '.' {
		return 0, errorAt(col, "syntax error: malformed number %q", s[:n+1])
	}
	if n < len(s) && isIdentByte(s[n]) {
		return 0, errorAt(col, "syntax error: the number %q is followed by %q; is an operator such as * missing?", s[:n], s[n:n+1])
	}
	return n, nil
}

// node is a parsed expression.
type node interface{ column() int }

type (
	numNode struct {
		col int
		val *big.Rat
	}
	nameNode struct {
		col  int
		name string
	}
	unaryNode struct {
		col int
		op  string
		x   node
	}
	binaryNode struct {
		col  int // the operator's column
		op   string
		x, y node
	}
	callNode struct {
		col  int
		name string
		args []node
	}
)

func (n *numNode) column() int    { return n.col }
func (n *nameNode) column() int   { return n.col }
func (n *unaryNode) column() int  { return n.col }
func (n *binaryNode) column() int { return n.col }
func (n *callNode) column() int   { return n.col }

// parser is a recursive-descent parser over the tokens of one expression.
//
//	expr    = term { ("+" | "-") term }
//	term    = unary { ("*" | "/" | "%") unary }
//	unary   = ("-" | "+") unary | power
//	power   = primary [ ("^" | "**") unary ]      (right-associative)
//	primary = number | name [ "(" [ expr { "," expr } ] ")" ] | "(" expr ")"
type parser struct {
	toks  []token
	pos   int
	depth int
}

// parse parses expr into a tree.
func parse(expr string) (node, error) {
	if n := utf8.RuneCountInString(expr); n > MaxLen {
		return nil, errorAt(0, "the expression is too long (%d characters); the limit is %d", n, MaxLen)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 1 {
		return nil, errorAt(0, "the expression is empty; write one such as (2+3)*4")
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.text == ")" {
			return nil, errorAt(t.col, `syntax error: unmatched ")"`)
		}
		return nil, errorAt(t.col, "syntax error: unexpected %s after a complete expression; is an operator such as * missing?", t.describe())
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// isOp reports whether the next token is one of the operators ops.
func (p *parser) isOp(ops ...string) bool {
	t := p.peek()
	if t.kind != tokOp {
		return false
	}
	for _, op := range ops {
		if t.text == op {
			return true
		}
	}
	return false
}

func (p *parser) enter(col int) error {
	p.depth++
	if p.depth > maxDepth {
		return errorAt(col, "the expression is nested too deeply; the limit is %d levels", maxDepth)
	}
	return nil
}

func (p *parser) expr() (node, error) { return p.leftAssoc(p.term, "+", "-") }

func (p *parser) term() (node, error) { return p.leftAssoc(p.unary, "*", "/", "%") }

// leftAssoc reads operands with operand, joined left to right by the
// operators ops.
func (p *parser) leftAssoc(operand func() (node, error), ops ...string) (node, error) {
	x, err := operand()
	if err != nil {
		return nil, err
	}
	for p.isOp(ops...) {
		op := p.next()
		y, err := operand()
		if err != nil {
			return nil, err
		}
		x = &binaryNode{op.col, op.text, x, y}
	}
	return x, nil
}

func (p *parser) unary() (node, error) {
	if p.isOp("-", "+") {
		op := p.next()
		if err := p.enter(op.col); err != nil {
			return nil, err
		}
		x, err := p.unary()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &unaryNode{op.col, op.text, x}, nil
	}
	return p.power()
}

func (p *parser) power() (node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	if p.isOp("^", "**") {
		op := p.next()
		if err := p.enter(op.col); err != nil {
			return nil, err
		}
		y, err := p.unary()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &binaryNode{op.col, "^", x, y}, nil
	}
	return x, nil
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch {
	case t.kind == tokNum:
		r, ok := new(big.Rat).SetString(t.text)
		if !ok {
			return nil, errorAt(t.col, "syntax error: malformed number %q", t.text)
		}
		if tooBig(r) {
			return nil, errTooBig(t.col)
		}
		return &numNode{t.col, r}, nil
	case t.kind == tokIdent:
		if !p.isOp("(") {
			return &nameNode{t.col, t.text}, nil
		}
		open := p.next()
		if err := p.enter(open.col); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		call := &callNode{col: t.col, name: t.text}
		if p.isOp(")") {
			p.next()
			return call, nil
		}
		for {
			arg, err := p.expr()
			if err != nil {
				return nil, err
			}
			call.args = append(call.args, arg)
			if p.isOp(",") {
				p.next()
				continue
			}
			if p.isOp(")") {
				p.next()
				return call, nil
			}
			return nil, errorAt(p.peek().col, `syntax error: expected "," or ")" in the call of %s (opened at column %d), found %s`, t.text, open.col, p.peek().describe())
		}
	case t.kind == tokOp && t.text == "(":
		if err := p.enter(t.col); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.isOp(")") {
			return nil, errorAt(p.peek().col, `syntax error: expected ")" to close the "(" at column %d, found %s`, t.col, p.peek().describe())
		}
		p.next()
		return x, nil
	default:
		return nil, errorAt(t.col, "syntax error: expected a number, a function or \"(\", found %s", t.describe())
	}
}
