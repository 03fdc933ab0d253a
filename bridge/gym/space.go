package gym

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Space types, the values of [Space.Type].
const (
	SpaceDiscrete      = "discrete"
	SpaceBox           = "box"
	SpaceMultiDiscrete = "multi_discrete"
	SpaceMultiBinary   = "multi_binary"
	SpaceTuple         = "tuple"
	SpaceDict          = "dict"
	SpaceText          = "text"
	SpaceUnknown       = "unknown"
)

// Space describes a Gymnasium space, as the shim reports it: enough to
// tell the model what an action looks like and to check one.
type Space struct {
	// Type is one of the Space constants.
	Type string `json:"type"`
	// N and Start: a Discrete space holds the integers Start … Start+N-1.
	N     int64 `json:"n,omitempty"`
	Start int64 `json:"start,omitempty"`
	// Shape is the shape of a Box, MultiDiscrete or MultiBinary value.
	Shape []int `json:"shape,omitempty"`
	// Dtype is a Box's element type, e.g. "float32", "int64", "uint8".
	Dtype string `json:"dtype,omitempty"`
	// Low and High are a Box's bounds: one number for all elements, or one
	// per element (flattened). BoundsOmitted is set when they were too
	// large to send.
	Low           bounds `json:"low,omitempty"`
	High          bounds `json:"high,omitempty"`
	BoundsOmitted bool   `json:"bounds_omitted,omitempty"`
	// NVec and Starts: element i of a MultiDiscrete value is an integer
	// from Starts[i] to Starts[i]+NVec[i]-1 (flattened).
	NVec   []int64 `json:"nvec,omitempty"`
	Starts []int64 `json:"starts,omitempty"`
	// Spaces are a Tuple's or a Dict's subspaces; Keys are a Dict's keys,
	// in the same order.
	Spaces []Space  `json:"spaces,omitempty"`
	Keys   []string `json:"keys,omitempty"`
	// MinLength, MaxLength and Charset describe a Text space.
	MinLength int    `json:"min_length,omitempty"`
	MaxLength int    `json:"max_length,omitempty"`
	Charset   string `json:"charset,omitempty"`
	// Name and Repr describe a space of an unknown type.
	Name string `json:"name,omitempty"`
	Repr string `json:"repr,omitempty"`
}

// size is the number of elements of a shaped space.
func (s Space) size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

func (s Space) integral() bool {
	return strings.Contains(s.Dtype, "int") || strings.Contains(s.Dtype, "bool")
}

// Describe says in words what a value of the space looks like, e.g. "an
// integer from 0 to 3" or "a JSON array of 2 numbers, each from -1 to 1".
func (s Space) Describe() string {
	switch s.Type {
	case SpaceDiscrete:
		return fmt.Sprintf("an integer from %d to %d", s.Start, s.Start+s.N-1)
	case SpaceBox:
		elem := "number"
		if s.integral() {
			elem = "integer"
		}
		rng := s.boundsText()
		if len(s.Shape) == 0 {
			return "a " + elem + rng
		}
		if len(s.Shape) == 1 {
			return fmt.Sprintf("a JSON array of %d %ss%s", s.Shape[0], elem, strings.Replace(rng, " from", ", each from", 1))
		}
		return fmt.Sprintf("a JSON array of shape %v (nested arrays) of %ss%s", s.Shape, elem, strings.Replace(rng, " from", ", each from", 1))
	case SpaceMultiDiscrete:
		parts := make([]string, len(s.NVec))
		uniform := true
		for i, n := range s.NVec {
			parts[i] = fmt.Sprintf("%d to %d", s.startAt(i), s.startAt(i)+n-1)
			uniform = uniform && parts[i] == parts[0]
		}
		shape := fmt.Sprintf("%d integers", len(s.NVec))
		if len(s.Shape) > 1 {
			shape = fmt.Sprintf("shape %v (nested arrays) of integers", s.Shape)
		}
		if uniform && len(parts) > 0 {
			return fmt.Sprintf("a JSON array of %s, each from %s", shape, parts[0])
		}
		return fmt.Sprintf("a JSON array of %s, from %s respectively", shape, strings.Join(parts, ", "))
	case SpaceMultiBinary:
		if len(s.Shape) == 1 {
			return fmt.Sprintf("a JSON array of %d zeros and ones", s.Shape[0])
		}
		return fmt.Sprintf("a JSON array of shape %v (nested arrays) of zeros and ones", s.Shape)
	case SpaceTuple:
		parts := make([]string, len(s.Spaces))
		for i, sub := range s.Spaces {
			parts[i] = fmt.Sprintf("item %d: %s", i+1, sub.Describe())
		}
		return fmt.Sprintf("a JSON array of %d items (%s)", len(s.Spaces), strings.Join(parts, "; "))
	case SpaceDict:
		parts := make([]string, len(s.Spaces))
		for i, sub := range s.Spaces {
			parts[i] = fmt.Sprintf("%q: %s", s.Keys[i], sub.Describe())
		}
		return fmt.Sprintf("a JSON object with the keys %s", strings.Join(parts, "; "))
	case SpaceText:
		set := ""
		if s.Charset != "" {
			set = fmt.Sprintf(" using only the characters %q", s.Charset)
		}
		return fmt.Sprintf("a text of %d to %d characters%s", s.MinLength, s.MaxLength, set)
	}
	return fmt.Sprintf("a value of the space %s, written as JSON", s.Repr)
}

func (s Space) boundsText() string {
	if s.BoundsOmitted || len(s.Low) == 0 || len(s.High) == 0 {
		return ""
	}
	if len(s.Low) == 1 && len(s.High) == 1 {
		lo, hi := s.Low[0], s.High[0]
		switch {
		case math.IsInf(lo, -1) && math.IsInf(hi, 1):
			return ""
		case math.IsInf(lo, -1):
			return " up to " + num(hi)
		case math.IsInf(hi, 1):
			return " from " + num(lo) + " up"
		}
		return " from " + num(lo) + " to " + num(hi)
	}
	return fmt.Sprintf(" within the bounds low=%s, high=%s", nums(s.Low), nums(s.High))
}

func (s Space) startAt(i int) int64 {
	if i < len(s.Starts) {
		return s.Starts[i]
	}
	return 0
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func nums(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = num(f)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Example returns a value of the space (the lowest where there is one), to
// show the model the form of an action.
func (s Space) Example() any {
	switch s.Type {
	case SpaceDiscrete:
		return s.Start
	case SpaceBox:
		elem := func(i int) any {
			lo, hi := s.Low.at(i), s.High.at(i)
			var v float64
			switch {
			case s.BoundsOmitted || math.IsNaN(lo) || math.IsNaN(hi):
			case lo <= 0 && hi >= 0:
				v = 0
			case !math.IsInf(lo, 0):
				v = lo
			default:
				v = hi
			}
			if s.integral() {
				return int64(math.Ceil(v))
			}
			return v
		}
		return shaped(s.Shape, elem)
	case SpaceMultiDiscrete:
		return shaped(s.Shape, func(i int) any { return s.startAt(i) })
	case SpaceMultiBinary:
		return shaped(s.Shape, func(int) any { return 0 })
	case SpaceTuple:
		out := make([]any, len(s.Spaces))
		for i, sub := range s.Spaces {
			out[i] = sub.Example()
		}
		return out
	case SpaceDict:
		out := make(map[string]any, len(s.Spaces))
		for i, sub := range s.Spaces {
			out[s.Keys[i]] = sub.Example()
		}
		return out
	case SpaceText:
		c := "a"
		if s.Charset != "" {
			r, _ := utf8.DecodeRuneInString(s.Charset)
			c = string(r)
		}
		return strings.Repeat(c, max(s.MinLength, 1))
	}
	return nil
}

// shaped builds nested arrays of the given shape, element i (in flat,
// row-major order) being elem(i). An empty shape is a scalar.
func shaped(shape []int, elem func(int) any) any {
	i := 0
	var build func(dims []int) any
	build = func(dims []int) any {
		if len(dims) == 0 {
			v := elem(i)
			i++
			return v
		}
		out := make([]any, dims[0])
		for k := range out {
			out[k] = build(dims[1:])
		}
		return out
	}
	return build(shape)
}

// Check reports whether v, a value decoded from JSON (float64, string,
// bool, []any, map[string]any), is in the space; its error is written for
// the model. Unknown spaces accept any value.
func (s Space) Check(v any) error {
	return s.check(v, "")
}

func (s Space) check(v any, at string) error {
	where := ""
	if at != "" {
		where = " at " + at
	}
	switch s.Type {
	case SpaceDiscrete:
		n, ok := integer(v)
		if !ok {
			return fmt.Errorf("expected an integer%s, got %s", where, show(v))
		}
		if n < s.Start || n >= s.Start+s.N {
			return fmt.Errorf("%d%s is out of range: it must be from %d to %d", n, where, s.Start, s.Start+s.N-1)
		}
		return nil
	case SpaceBox, SpaceMultiDiscrete, SpaceMultiBinary:
		flat, err := flatten(v, s.Shape, at)
		if err != nil {
			return err
		}
		for i, x := range flat {
			f, ok := x.(float64)
			if !ok {
				return fmt.Errorf("expected a number%s, got %s", elemAt(at, s.Shape, i), show(x))
			}
			if err := s.checkElem(f, i, elemAt(at, s.Shape, i)); err != nil {
				return err
			}
		}
		return nil
	case SpaceTuple:
		list, ok := v.([]any)
		if !ok || len(list) != len(s.Spaces) {
			return fmt.Errorf("expected a JSON array of %d items%s, got %s", len(s.Spaces), where, show(v))
		}
		for i, sub := range s.Spaces {
			if err := sub.check(list[i], fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	case SpaceDict:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("expected a JSON object%s with the keys %s, got %s", where, quoted(s.Keys), show(v))
		}
		for k := range obj {
			if !slices.Contains(s.Keys, k) {
				return fmt.Errorf("unknown key %q%s: the keys are %s", k, where, quoted(s.Keys))
			}
		}
		for i, sub := range s.Spaces {
			x, ok := obj[s.Keys[i]]
			if !ok {
				return fmt.Errorf("missing key %q%s: the keys are %s", s.Keys[i], where, quoted(s.Keys))
			}
			if err := sub.check(x, fmt.Sprintf("%s.%s", at, s.Keys[i])); err != nil {
				return err
			}
		}
		return nil
	case SpaceText:
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("expected a text%s, got %s", where, show(v))
		}
		if n := utf8.RuneCountInString(str); n < s.MinLength || n > s.MaxLength {
			return fmt.Errorf("the text%s has %d characters; it must have %d to %d", where, n, s.MinLength, s.MaxLength)
		}
		if s.Charset != "" {
			for _, r := range str {
				if !strings.ContainsRune(s.Charset, r) {
					return fmt.Errorf("the text%s contains %q, which is not allowed; use only %q", where, r, s.Charset)
				}
			}
		}
		return nil
	}
	return nil
}

func (s Space) checkElem(f float64, i int, where string) error {
	switch s.Type {
	case SpaceMultiBinary:
		if f != 0 && f != 1 {
			return fmt.Errorf("%s%s must be 0 or 1", num(f), where)
		}
	case SpaceMultiDiscrete:
		if f != math.Trunc(f) {
			return fmt.Errorf("%s%s is not an integer", num(f), where)
		}
		lo := s.startAt(i)
		var n int64
		if i < len(s.NVec) {
			n = s.NVec[i]
		}
		if int64(f) < lo || int64(f) >= lo+n {
			return fmt.Errorf("%s%s is out of range: it must be from %d to %d", num(f), where, lo, lo+n-1)
		}
	case SpaceBox:
		if math.IsNaN(f) {
			return fmt.Errorf("NaN%s is not allowed", where)
		}
		if s.integral() && f != math.Trunc(f) {
			return fmt.Errorf("%s%s is not an integer", num(f), where)
		}
		if s.BoundsOmitted {
			return nil
		}
		if lo, hi := s.Low.at(i), s.High.at(i); f < lo || f > hi {
			return fmt.Errorf("%s%s is out of bounds: it must be from %s to %s", num(f), where, num(lo), num(hi))
		}
	}
	return nil
}

// flatten checks that v has the given shape and returns its elements in
// row-major order. A scalar stands for shape [] and, for convenience, [1].
func flatten(v any, shape []int, at string) ([]any, error) {
	if len(shape) == 0 {
		if _, isList := v.([]any); isList {
			return nil, fmt.Errorf("expected a single number%s, got an array", atText(at))
		}
		return []any{v}, nil
	}
	if len(shape) == 1 && shape[0] == 1 {
		if _, isList := v.([]any); !isList {
			return []any{v}, nil
		}
	}
	var out []any
	var walk func(x any, dims []int, path string) error
	walk = func(x any, dims []int, path string) error {
		if len(dims) == 0 {
			if _, isList := x.([]any); isList {
				return fmt.Errorf("expected a number%s, got an array: the shape must be %v", atText(path), shape)
			}
			out = append(out, x)
			return nil
		}
		list, ok := x.([]any)
		if !ok || len(list) != dims[0] {
			return fmt.Errorf("expected a JSON array of %d items%s (shape %v), got %s", dims[0], atText(path), shape, show(x))
		}
		for i, y := range list {
			if err := walk(y, dims[1:], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(v, shape, at); err != nil {
		return nil, err
	}
	return out, nil
}

func atText(at string) string {
	if at == "" {
		return ""
	}
	return " at " + at
}

// elemAt names element i (flat) of a value of shape at path at.
func elemAt(at string, shape []int, i int) string {
	if len(shape) == 0 {
		return atText(at)
	}
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	var b strings.Builder
	b.WriteString(at)
	for _, k := range idx {
		fmt.Fprintf(&b, "[%d]", k)
	}
	return " at " + b.String()
}

// integer reads an integral JSON number.
func integer(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

func quoted(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strconv.Quote(k)
	}
	return strings.Join(parts, ", ")
}
