package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sentinel errors, matched with errors.Is against what the decoders return.
var (
	// ErrUnknownKey: a key the configuration does not have.
	ErrUnknownKey = errors.New("unknown config key")
	// ErrValue: a value of the wrong type, or one its type rejects.
	ErrValue = errors.New("bad config value")
	// ErrSyntax: the document is not valid JSON or YAML.
	ErrSyntax = errors.New("config syntax error")
	// ErrNotObject: the document is not a JSON object or YAML mapping.
	ErrNotObject = errors.New("config is not an object")
	// ErrExtraData: data after the document's JSON object.
	ErrExtraData = errors.New("extra data after the config")
)

// Error is a configuration the decoders cannot take. Its message names the
// key at fault and, for an unknown key, lists the allowed ones:
//
//	unknown config key "max_step"; allowed keys: name, max_steps, timeout
//	config key "opponent_model.max_tokens": expected an integer, got a JSON string
//	line 4: unknown config key "step[0].wieght"; allowed keys: name, reward, weight
type Error struct {
	// Key is the dotted path of the key at fault ("opponent_model.model",
	// "step[0].weight"); empty when the document as a whole is at fault.
	Key string
	// Line is the line of Key in a YAML document; 0 for JSON.
	Line int
	// Allowed lists, in field order, the keys allowed where an unknown
	// key stands (nil for other errors).
	Allowed []string
	// Err says what is wrong; nil for an unknown key.
	Err  error
	kind error // one of the sentinels
}

// Error formats the problem with its key and, for YAML, its line.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.kind == ErrUnknownKey && len(e.Allowed) == 0:
		fmt.Fprintf(&b, "unknown config key %q: it takes no configuration", e.Key)
	case e.kind == ErrUnknownKey:
		fmt.Fprintf(&b, "unknown config key %q; allowed keys: %s", e.Key, strings.Join(e.Allowed, ", "))
	case e.Key == "":
		fmt.Fprintf(&b, "config %v", e.Err)
	default:
		fmt.Fprintf(&b, "config key %q: %v", e.Key, e.Err)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's kind.
func (e *Error) Is(target error) bool { return target == e.kind }

// Name is the last element of Key: "weight" for "step[0].weight".
func (e *Error) Name() string {
	_, name := splitKey(e.Key)
	return name
}

// Parent is Key without its last element: "step[0]" for
// "step[0].weight"; empty for a top-level key.
func (e *Error) Parent() string {
	parent, _ := splitKey(e.Key)
	return parent
}

func splitKey(key string) (parent, name string) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", key
	}
	return key[:i], key[i+1:]
}

// Decode decodes the JSON object data onto the struct that v points at,
// which holds the defaults: keys absent from data keep them. Empty data and
// JSON null keep all of them. A key that matches no field (its json tag,
// exactly) is an [ErrUnknownKey] error that lists the allowed keys, nested
// objects included; a value of the wrong type names its key and the
// expected type; data after the object is an error. Fields of type
// time.Duration and [Duration] take "30s" or a number of seconds. Errors
// are *[Error].
func Decode(data []byte, v any) error {
	rv, err := target(v)
	if err != nil {
		return err
	}
	in, err := parseJSON(data)
	if err != nil || in == nil {
		return err
	}
	return (&decoder{format: "JSON"}).decode("", in, rv)
}

// DecodeValue decodes a value already read from JSON or YAML (maps of
// strings to values, slices, strings, numbers, booleans, nil), or any value
// that encodes to JSON, onto the struct that v points at, as [Decode] does.
func DecodeValue(in any, v any) error {
	rv, err := target(v)
	if err != nil {
		return err
	}
	if in == nil {
		return nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return &Error{Err: fmt.Errorf("cannot be encoded as JSON: %v", err), kind: ErrValue}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var norm any
	if err := dec.Decode(&norm); err != nil {
		return &Error{Err: err, kind: ErrSyntax}
	}
	return (&decoder{format: "JSON"}).decode("", norm, rv)
}

func target(v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return reflect.Value{}, fmt.Errorf("config: decoding needs a non-nil pointer, got %T", v)
	}
	return rv.Elem(), nil
}

// parseJSON reads a JSON object into maps, slices and json.Numbers; nil for
// empty data or null.
func parseJSON(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	if trimmed[0] != '{' {
		return nil, &Error{Err: fmt.Errorf("must be a JSON object like {\"key\": value}, got %s", abbreviate(trimmed)), kind: ErrNotObject}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var in any
	if err := dec.Decode(&in); err != nil {
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &syntaxErr):
			err = fmt.Errorf("is not valid JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			err = errors.New("is not valid JSON: unexpected end of input")
		default:
			err = fmt.Errorf("is not valid JSON: %v", err)
		}
		return nil, &Error{Err: err, kind: ErrSyntax}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Err: errors.New("has extra data after its JSON object"), kind: ErrExtraData}
	}
	return in, nil
}

func abbreviate(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	configDurationType  = reflect.TypeFor[Duration]()
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	numberType          = reflect.TypeFor[json.Number]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decoder walks a parsed document and a Go value together.
type decoder struct {
	format string         // "JSON" or "YAML", for messages
	lines  map[string]int // YAML: the line of each key path
}

func (d *decoder) fail(path string, kind error, err error) *Error {
	return &Error{Key: path, Line: d.lines[path], Err: err, kind: kind}
}

func (d *decoder) typeErr(path string, t reflect.Type, in any) *Error {
	return d.fail(path, ErrValue, fmt.Errorf("expected %s, got %s", typeWords(t), d.got(in)))
}

// got names the kind of a parsed value.
func (d *decoder) got(in any) string {
	switch x := in.(type) {
	case nil:
		return "null"
	case string:
		return "a " + d.format + " string " + strconv.Quote(abbreviate([]byte(x)))
	case bool:
		return fmt.Sprintf("a %s boolean %v", d.format, x)
	case json.Number, float64:
		return fmt.Sprintf("a %s number %v", d.format, x)
	case []any:
		return "a " + d.format + " array"
	case map[string]any:
		return "a " + d.format + " object"
	}
	return fmt.Sprintf("a %T", in)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode sets v, which is addressable, from the parsed value in.
func (d *decoder) decode(path string, in any, v reflect.Value) error {
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface && v.CanAddr() {
		pv := v.Addr()
		if pv.Type().Implements(unmarshalerType) {
			raw, err := json.Marshal(in)
			if err != nil {
				return d.fail(path, ErrValue, err)
			}
			if err := pv.Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
				return d.nested(path, err)
			}
			return nil
		}
		if pv.Type().Implements(textUnmarshalerType) {
			if in == nil {
				return nil // as encoding/json: null leaves the value as it is
			}
			s, ok := in.(string)
			if !ok {
				return d.typeErr(path, v.Type(), in)
			}
			if err := pv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return d.fail(path, ErrValue, err)
			}
			return nil
		}
	}
	if in == nil {
		switch v.Kind() {
		case reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64, reflect.Array, reflect.Struct:
			return nil // as encoding/json: null leaves the value as it is
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if in == nil {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(path, in, v.Elem())
	case reflect.Interface:
		if v.NumMethod() != 0 {
			return d.fail(path, ErrValue, fmt.Errorf("cannot decode into %s", v.Type()))
		}
		if in == nil {
			v.SetZero()
			return nil
		}
		v.Set(reflect.ValueOf(plain(in)))
		return nil
	case reflect.Bool:
		b, ok := in.(bool)
		if !ok {
			return d.typeErr(path, v.Type(), in)
		}
		v.SetBool(b)
	case reflect.String:
		if n, isNum := in.(json.Number); isNum && v.Type() == numberType {
			v.SetString(string(n))
			return nil
		}
		s, ok := in.(string)
		if !ok {
			return d.typeErr(path, v.Type(), in)
		}
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == durationType {
			raw, _ := json.Marshal(in)
			dur, err := parseDuration(plain(in), raw)
			if err != nil {
				return d.fail(path, ErrValue, err)
			}
			v.SetInt(int64(dur))
			return nil
		}
		n, ok := in.(json.Number)
		if !ok {
			return d.typeErr(path, v.Type(), in)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return d.fail(path, ErrValue, fmt.Errorf("expected %s, got %s", typeWords(v.Type()), n))
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := in.(json.Number)
		if !ok {
			return d.typeErr(path, v.Type(), in)
		}
		u, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil || v.OverflowUint(u) {
			return d.fail(path, ErrValue, fmt.Errorf("expected %s, got %s", typeWords(v.Type()), n))
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		switch n := in.(type) {
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(string(n), v.Type().Bits()); err != nil {
				return d.fail(path, ErrValue, fmt.Errorf("number %s is out of range", n))
			}
		case float64:
			f = n
		default:
			return d.typeErr(path, v.Type(), in)
		}
		if v.OverflowFloat(f) && !math.IsInf(f, 0) {
			return d.fail(path, ErrValue, fmt.Errorf("number %v is out of range", f))
		}
		v.SetFloat(f)
	case reflect.Slice:
		if in == nil {
			v.SetZero()
			return nil
		}
		arr, ok := in.([]any)
		if !ok {
			if s, isStr := in.(string); isStr && v.Type().Elem().Kind() == reflect.Uint8 {
				b := []byte{}
				if err := json.Unmarshal(strconv.AppendQuote(nil, s), &b); err != nil {
					return d.fail(path, ErrValue, err)
				}
				v.SetBytes(b)
				return nil
			}
			return d.typeErr(path, v.Type(), in)
		}
		s := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, item := range arr {
			if err := d.decode(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Array:
		arr, ok := in.([]any)
		if !ok {
			return d.typeErr(path, v.Type(), in)
		}
		if len(arr) != v.Len() {
			return d.fail(path, ErrValue, fmt.Errorf("expected an array of %d items, got %d", v.Len(), len(arr)))
		}
		for i, item := range arr {
			if err := d.decode(fmt.Sprintf("%s[%d]", path, i), item, v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if in == nil {
			v.SetZero()
			return nil
		}
		obj, ok := in.(map[string]any)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return d.typeErr(path, v.Type(), in)
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(v.Type(), len(obj)))
		}
		for _, k := range sortedKeys(obj) {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(join(path, k), obj[k], ev); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
		}
	case reflect.Struct:
		if in == nil {
			return nil
		}
		obj, ok := in.(map[string]any)
		if !ok {
			return d.typeErr(path, v.Type(), in)
		}
		info := fieldsOf(v.Type())
		for _, k := range sortedKeys(obj) {
			f, ok := info.byName[k]
			if !ok {
				p := join(path, k)
				return &Error{Key: p, Line: d.lines[p], Allowed: slices.Clone(info.names), kind: ErrUnknownKey}
			}
			fv, err := fieldByIndex(v, f.index)
			if err != nil {
				return d.fail(join(path, k), ErrValue, err)
			}
			if err := d.decode(join(path, k), obj[k], fv); err != nil {
				return err
			}
		}
	default:
		return d.fail(path, ErrValue, fmt.Errorf("cannot decode into %s", v.Type()))
	}
	return nil
}

// nested turns the error of a type's own UnmarshalJSON into an *Error at
// path: an *Error from a nested decode (a type that decodes its value with
// [Decode]) gets path prepended to its key.
func (d *decoder) nested(path string, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		key := ce.Key
		switch {
		case key == "":
			key = path
		case path != "":
			key = path + "." + key
		}
		line := d.lines[key]
		if line == 0 {
			line = d.lines[path]
		}
		return &Error{Key: key, Line: line, Allowed: ce.Allowed, Err: ce.Err, kind: ce.kind}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return d.fail(path, ErrValue, fmt.Errorf("expected %s, got a %s %s", typeWords(typeErr.Type), d.format, typeErr.Value))
	}
	return d.fail(path, ErrValue, err)
}

// plain turns json.Numbers into float64s, as encoding/json decodes numbers
// into an interface.
func plain(in any) any {
	switch x := in.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = plain(v)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = plain(v)
		}
		return out
	}
	return in
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// field is one key of a struct type.
type field struct {
	name  string
	index []int
	typ   reflect.Type
	tag   reflect.StructTag
}

// structInfo lists the keys of a struct type, embedded structs' included.
type structInfo struct {
	fields []*field
	byName map[string]*field
	names  []string // in field order
}

var structCache sync.Map // reflect.Type -> *structInfo

// fieldsOf returns the keys of struct type t as encoding/json names them:
// the json tag's name, else the field's name; "-" and unexported fields
// are skipped; untagged embedded structs' fields are promoted, a
// shallower field winning over a deeper one of the same name.
func fieldsOf(t reflect.Type) *structInfo {
	if info, ok := structCache.Load(t); ok {
		return info.(*structInfo)
	}
	type cand struct {
		f     *field
		depth int
	}
	var all []cand
	var collect func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool)
	collect = func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			idx := append(slices.Clone(index), i)
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					collect(ft, idx, depth+1, seen)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			all = append(all, cand{&field{name: name, index: idx, typ: sf.Type, tag: sf.Tag}, depth})
		}
	}
	collect(t, nil, 0, map[reflect.Type]bool{})
	info := &structInfo{byName: map[string]*field{}}
	best := map[string]int{}
	for _, c := range all {
		if d, ok := best[c.f.name]; !ok || c.depth < d {
			best[c.f.name] = c.depth
		}
	}
	for _, c := range all {
		if best[c.f.name] != c.depth || info.byName[c.f.name] != nil {
			continue
		}
		info.fields = append(info.fields, c.f)
		info.byName[c.f.name] = c.f
		info.names = append(info.names, c.f.name)
	}
	actual, _ := structCache.LoadOrStore(t, info)
	return actual.(*structInfo)
}

// fieldByIndex returns the field of struct v at index, allocating embedded
// struct pointers on the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("cannot set the embedded %s", v.Type())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// TypeDescriber is implemented by a configuration type that names its JSON
// form itself, in words, for [Keys] and for error messages; e.g.
// `true, false or "alternate"`.
type TypeDescriber interface {
	DescribeType() string
}

var typeDescriberType = reflect.TypeFor[TypeDescriber]()

// typeWords names what a Go type looks like in JSON, with an article:
// "an integer", "an array of strings".
func typeWords(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if t.Implements(typeDescriberType) {
		return reflect.Zero(t).Interface().(TypeDescriber).DescribeType()
	}
	if reflect.PointerTo(t).Implements(typeDescriberType) {
		return reflect.New(t).Interface().(TypeDescriber).DescribeType()
	}
	if pt := reflect.PointerTo(t); pt.Implements(textUnmarshalerType) && !pt.Implements(unmarshalerType) {
		return "a string"
	}
	switch t {
	case durationType, configDurationType:
		return `a duration (like "30s") or a number of seconds`
	case rawMessageType:
		return "any JSON value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeWords(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Interface:
		return "any JSON value"
	case reflect.Slice, reflect.Array:
		return "an array of " + plural(t.Elem())
	case reflect.Map:
		if e := t.Elem(); e.Kind() == reflect.Interface || e.Kind() == reflect.Struct || (e.Kind() == reflect.Pointer && e.Elem().Kind() == reflect.Struct) {
			if e.Kind() == reflect.Interface {
				return "an object"
			}
			return "an object of objects"
		}
		return "an object of " + plural(t.Elem())
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// plural names values of type t in the plural: "strings", "objects".
func plural(t reflect.Type) string {
	w := typeWords(t)
	switch {
	case w == "true or false":
		return "booleans"
	case strings.HasPrefix(w, "a duration"):
		return "durations"
	case w == "any JSON value":
		return "values"
	case strings.ContainsAny(w, ",\""):
		return "values"
	}
	for _, article := range []string{"an ", "a "} {
		if rest, ok := strings.CutPrefix(w, article); ok {
			noun, of, _ := strings.Cut(rest, " of ")
			if of != "" {
				return noun + "s of " + of
			}
			return noun + "s"
		}
	}
	return "values"
}
