package dialect

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
)

// maxPyDepth bounds the nesting of Python literals, so that hostile input
// cannot exhaust the stack.
const maxPyDepth = 200

// pyParser reads Python call expressions whose arguments are keyword
// arguments with literal values, and turns the literals into JSON:
// strings (both quote kinds, triple quotes, r/u/b prefixes, escapes,
// adjacent literals concatenated), ints (any base, underscores), floats,
// True/False/None (and true/false/null), lists, tuples (as arrays), dicts
// (as objects) and sets (as arrays).
type pyParser struct {
	s     string
	i     int
	depth int
}

// pyError is a syntax error at a byte offset.
type pyError struct {
	at  int
	msg string
}

func (e *pyError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.msg, e.at) }

func (p *pyParser) errorf(format string, args ...any) error {
	return &pyError{at: p.i, msg: fmt.Sprintf(format, args...)}
}

func (p *pyParser) eof() bool { return p.i >= len(p.s) }

// peek is the next byte, or 0 at the end.
func (p *pyParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

// skipSpace skips white space, line continuations and comments.
func (p *pyParser) skipSpace() {
	for !p.eof() {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			p.i++
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
		case c == '#':
			for !p.eof() && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

// expect consumes c or fails.
func (p *pyParser) expect(c byte, what string) error {
	p.skipSpace()
	if p.peek() != c {
		return p.errorf("expected %q %s, found %s", c, what, p.found())
	}
	p.i++
	return nil
}

// found describes what is at the current position, for errors.
func (p *pyParser) found() string {
	if p.eof() {
		return "the end of the text"
	}
	return snippet(p.s[p.i:])
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// ident reads a Python identifier, or returns "".
func (p *pyParser) ident() string {
	start := p.i
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if !(isIdentPart(r) && (p.i > start || isIdentStart(r))) {
			break
		}
		p.i += n
	}
	return p.s[start:p.i]
}

// funcName reads a function name: identifiers joined by "." (Llama's
// built-in "brave_search.call"), also allowing "-" (tool names such as
// "get-weather" that Python could not call but models write anyway).
func (p *pyParser) funcName() string {
	start := p.i
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if !(isIdentStart(r) || (p.i > start && (unicode.IsDigit(r) || r == '.' || r == '-'))) {
			break
		}
		p.i += n
	}
	return p.s[start:p.i]
}

// callList reads "[call, call, …]". An empty list yields no calls.
func (p *pyParser) callList() ([]retrain.ToolCall, error) {
	if err := p.expect('[', "to open the list of calls"); err != nil {
		return nil, err
	}
	var calls []retrain.ToolCall
	for {
		p.skipSpace()
		if p.peek() == ']' {
			p.i++
			return calls, nil
		}
		c, err := p.call()
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return calls, nil
		default:
			return nil, p.errorf("expected \",\" or \"]\" after the call to %s, found %s", c.Name, p.found())
		}
	}
}

// bareCalls reads calls without the list brackets: "call", "call, call",
// "call; call", or calls on lines of their own.
func (p *pyParser) bareCalls() ([]retrain.ToolCall, error) {
	var calls []retrain.ToolCall
	for {
		c, err := p.call()
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
		save := p.i
		p.skipSpace()
		switch {
		case p.peek() == ',' || p.peek() == ';':
			p.i++
			p.skipSpace()
		case p.i > save && strings.Contains(p.s[save:p.i], "\n") && looksLikePyCall(p.s[p.i:]) && p.s[p.i] != '[':
		default:
			p.i = save
			return calls, nil
		}
	}
}

// call reads name(keyword=value, …).
func (p *pyParser) call() (retrain.ToolCall, error) {
	p.skipSpace()
	name := p.funcName()
	if name == "" {
		return retrain.ToolCall{}, p.errorf("expected a function name, found %s", p.found())
	}
	if err := p.expect('(', "after the function name "+name); err != nil {
		return retrain.ToolCall{}, err
	}
	var args object
	for {
		p.skipSpace()
		if p.peek() == ')' {
			p.i++
			return retrain.ToolCall{Name: name, Arguments: json.RawMessage(args.json())}, nil
		}
		start := p.i
		kw := p.ident()
		p.skipSpace()
		if kw == "" || p.peek() != '=' || strings.HasPrefix(p.s[p.i:], "==") {
			p.i = start
			return retrain.ToolCall{}, p.errorf("expected a keyword argument name=value in the call to %s, found %s (positional arguments are not allowed)", name, p.found())
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return retrain.ToolCall{}, err
		}
		if _, dup := args.vals[kw]; dup {
			return retrain.ToolCall{}, p.errorf("keyword argument %s repeated in the call to %s", kw, name)
		}
		args.set(kw, v)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
		default:
			return retrain.ToolCall{}, p.errorf("expected \",\" or \")\" in the call to %s, found %s", name, p.found())
		}
	}
}

// value reads one literal and returns its JSON text.
func (p *pyParser) value() (string, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxPyDepth {
		return "", p.errorf("values nested more than %d deep", maxPyDepth)
	}
	p.skipSpace()
	c := p.peek()
	switch {
	case c == '"' || c == '\'':
		return p.strings()
	case c == '[':
		p.i++
		return p.items(']', "list")
	case c == '(':
		return p.tuple()
	case c == '{':
		return p.dict()
	case c == '-' || c == '+':
		p.i++
		p.skipSpace()
		if d := p.peek(); !(d >= '0' && d <= '9' || d == '.') {
			return "", p.errorf("expected a number after %q, found %s", c, p.found())
		}
		n, err := p.number()
		if c == '-' {
			n = "-" + n
		}
		return n, err
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	}
	start := p.i
	w := p.ident()
	if w == "" {
		return "", p.errorf("expected a value, found %s", p.found())
	}
	if q := p.peek(); (q == '"' || q == '\'') && isStringPrefix(w) {
		p.i = start
		return p.strings()
	}
	switch w {
	case "True", "true":
		return "true", nil
	case "False", "false":
		return "false", nil
	case "None", "null":
		return "null", nil
	}
	p.skipSpace()
	if p.peek() == '(' || p.peek() == '.' {
		p.i = start
		return "", p.errorf("expected a literal value, found %s: argument values must be literals, not calls or expressions", p.found())
	}
	p.i = start
	return "", p.errorf("expected a literal value, found the name %s: argument values must be literals (strings, numbers, True/False/None, lists, dicts)", w)
}

// isStringPrefix reports whether w may prefix a string literal.
func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

// items reads values up to close (the opening bracket already read) and
// returns them as a JSON array.
func (p *pyParser) items(close byte, what string) (string, error) {
	var vals []string
	for {
		p.skipSpace()
		if p.peek() == close {
			p.i++
			return "[" + strings.Join(vals, ",") + "]", nil
		}
		v, err := p.value()
		if err != nil {
			return "", err
		}
		vals = append(vals, v)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case close:
		default:
			return "", p.errorf("expected \",\" or %q in a %s, found %s", close, what, p.found())
		}
	}
}

// after reads the items that follow "first," up to close (see items) and
// returns the JSON array of first and them.
func (p *pyParser) after(first string, close byte, what string) (string, error) {
	rest, err := p.items(close, what)
	if err != nil {
		return "", err
	}
	if rest == "[]" {
		return "[" + first + "]", nil
	}
	return "[" + first + "," + rest[1:], nil
}

// tuple reads "(…)": a tuple becomes an array; "(x)" is just x.
func (p *pyParser) tuple() (string, error) {
	p.i++ // (
	p.skipSpace()
	if p.peek() == ')' {
		p.i++
		return "[]", nil
	}
	first, err := p.value()
	if err != nil {
		return "", err
	}
	p.skipSpace()
	switch p.peek() {
	case ')':
		p.i++
		return first, nil
	case ',':
		p.i++
		return p.after(first, ')', "tuple")
	}
	return "", p.errorf("expected \",\" or \")\" in a tuple, found %s", p.found())
}

// dict reads "{k: v, …}" as a JSON object, or a set "{a, b}" as an array.
func (p *pyParser) dict() (string, error) {
	p.i++ // {
	p.skipSpace()
	if p.peek() == '}' {
		p.i++
		return "{}", nil
	}
	first, err := p.value()
	if err != nil {
		return "", err
	}
	p.skipSpace()
	if p.peek() != ':' {
		switch p.peek() {
		case ',':
			p.i++
			return p.after(first, '}', "set")
		case '}':
			p.i++
			return "[" + first + "]", nil
		}
		return "", p.errorf("expected \":\" in a dict, found %s", p.found())
	}
	var o object
	key := first
	for {
		p.i++ // :
		k, err := p.dictKey(key)
		if err != nil {
			return "", err
		}
		v, err := p.value()
		if err != nil {
			return "", err
		}
		o.set(k, v)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
		default:
			return "", p.errorf("expected \",\" or \"}\" in a dict, found %s", p.found())
		}
		p.skipSpace()
		if p.peek() == '}' {
			p.i++
			return o.json(), nil
		}
		if key, err = p.value(); err != nil {
			return "", err
		}
		p.skipSpace()
		if p.peek() != ':' {
			return "", p.errorf("expected \":\" after a dict key, found %s", p.found())
		}
	}
}

// dictKey turns the JSON text of a dict key into an object key, as
// Python's json.dumps does: strings as they are, numbers, true, false and
// null as their text.
func (p *pyParser) dictKey(key string) (string, error) {
	switch key[0] {
	case '"':
		var s string
		if err := json.Unmarshal([]byte(key), &s); err != nil {
			return "", p.errorf("invalid dict key: %v", err)
		}
		return s, nil
	case '[', '{':
		return "", p.errorf("dict keys must be strings or numbers")
	}
	return key, nil
}

// strings reads one or more adjacent string literals and returns their
// concatenation as a JSON string.
func (p *pyParser) strings() (string, error) {
	var b strings.Builder
	for {
		if err := p.stringLit(&b); err != nil {
			return "", err
		}
		save := p.i
		p.skipSpace()
		start := p.i
		w := p.ident()
		if q := p.peek(); (q == '"' || q == '\'') && (w == "" || isStringPrefix(w)) {
			p.i = start
			continue
		}
		p.i = save
		return jsonString(b.String()), nil
	}
}

// stringLit reads one string literal, with its prefix, into b.
func (p *pyParser) stringLit(b *strings.Builder) error {
	prefix := strings.ToLower(p.ident())
	if strings.Contains(prefix, "f") {
		return p.errorf("f-strings are not allowed: argument values must be literals")
	}
	raw := strings.Contains(prefix, "r")
	start := p.i
	q := p.s[p.i]
	delim := string(q)
	if strings.HasPrefix(p.s[p.i:], strings.Repeat(delim, 3)) {
		delim = strings.Repeat(delim, 3)
	}
	p.i += len(delim)
	for {
		if p.eof() {
			p.i = start
			return p.errorf("unterminated string starting with %s", p.found())
		}
		if strings.HasPrefix(p.s[p.i:], delim) {
			p.i += len(delim)
			return nil
		}
		c := p.s[p.i]
		switch {
		case c == '\n' && len(delim) == 1:
			p.i = start
			return p.errorf("unterminated string starting with %s (a line break inside a quoted string must be written \\n)", p.found())
		case c == '\\' && raw:
			if p.i+1 >= len(p.s) {
				p.i++
				continue
			}
			b.WriteString(p.s[p.i : p.i+2])
			p.i += 2
		case c == '\\':
			if err := p.escape(b); err != nil {
				return err
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
}

// escape reads one backslash escape of a non-raw string into b.
func (p *pyParser) escape(b *strings.Builder) error {
	p.i++ // backslash
	if p.eof() {
		return p.errorf("unterminated string")
	}
	e := p.s[p.i]
	p.i++
	switch e {
	case '\n':
	case '\\', '\'', '"':
		b.WriteByte(e)
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'v':
		b.WriteByte('\v')
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v := int(e - '0')
		for k := 0; k < 2 && !p.eof() && p.s[p.i] >= '0' && p.s[p.i] <= '7'; k++ {
			v = v*8 + int(p.s[p.i]-'0')
			p.i++
		}
		b.WriteRune(rune(v))
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
		r, err := p.hexRune(e, n)
		if err != nil {
			return err
		}
		// A surrogate pair written as two \u escapes (JSON habit) is one
		// character.
		if utf16.IsSurrogate(r) && e == 'u' && strings.HasPrefix(p.s[p.i:], `\u`) {
			save := p.i
			p.i += 2
			if r2, err := p.hexRune('u', 4); err == nil {
				if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
					b.WriteRune(c)
					return nil
				}
			}
			p.i = save
		}
		b.WriteRune(r)
	case 'N':
		return p.errorf(`\N{…} escapes are not supported: write the character itself`)
	default:
		// Python keeps unknown escapes as written.
		b.WriteByte('\\')
		p.i--
	}
	return nil
}

// hexRune reads n hex digits of a \x, \u or \U escape.
func (p *pyParser) hexRune(e byte, n int) (rune, error) {
	if p.i+n > len(p.s) {
		return 0, p.errorf(`truncated \%c escape`, e)
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
	if err != nil || v > unicode.MaxRune {
		return 0, p.errorf(`invalid \%c escape %s`, e, snippet(p.s[p.i:p.i+n]))
	}
	p.i += n
	return rune(v), nil
}

// number reads an int or float literal and returns it as a JSON number.
func (p *pyParser) number() (string, error) {
	start := p.i
	s := p.s[p.i:]
	if len(s) > 1 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		p.i += 2
		for !p.eof() && (isHex(p.s[p.i]) || p.s[p.i] == '_') {
			p.i++
		}
		var n big.Int
		if _, ok := n.SetString(strings.ToLower(p.s[start:p.i]), 0); !ok {
			p.i = start
			return "", p.errorf("invalid number %s", snippet(p.s[start:]))
		}
		return n.String(), p.afterNumber(start)
	}
	digits := func() {
		for !p.eof() && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '_') {
			p.i++
		}
	}
	digits()
	float := false
	if p.peek() == '.' {
		float = true
		p.i++
		digits()
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		float = true
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		digits()
	}
	text := strings.ReplaceAll(p.s[start:p.i], "_", "")
	if err := p.afterNumber(start); err != nil {
		return "", err
	}
	if !float {
		var n big.Int
		if _, ok := n.SetString(text, 10); !ok {
			p.i = start
			return "", p.errorf("invalid number %s", snippet(p.s[start:]))
		}
		return n.String(), nil
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(text), "e")
	whole, frac, hasDot := strings.Cut(mant, ".")
	if whole = strings.TrimLeft(whole, "0"); whole == "" {
		whole = "0"
	}
	out := whole
	if hasDot {
		if frac == "" {
			frac = "0"
		}
		out += "." + frac
	}
	if hasExp {
		out += "e" + exp
	}
	f, err := strconv.ParseFloat(out, 64)
	if err != nil || !json.Valid([]byte(out)) || strings.Trim(mant, ".") == "" {
		p.i = start
		if err != nil && f != 0 {
			return "", p.errorf("number %s is out of range", snippet(text))
		}
		return "", p.errorf("invalid number %s", snippet(p.s[start:]))
	}
	return out, nil
}

// afterNumber fails when a number runs into letters (e.g. "1j", "12abc").
func (p *pyParser) afterNumber(start int) error {
	if p.eof() {
		return nil
	}
	if r, _ := utf8.DecodeRuneInString(p.s[p.i:]); isIdentPart(r) {
		p.i = start
		return p.errorf("invalid number %s", snippet(p.s[start:]))
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
