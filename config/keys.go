package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// Access says who may set a configuration key. The struct tag
// `access:"client"` marks a key a network client may set; without it a key
// is operator-only.
type Access string

const (
	// Operator keys are set only by whoever runs retrain (flags, config
	// files): commands, paths, URLs, credentials. It is the default.
	Operator Access = "operator"
	// Client keys may also be set by a network client, such as a session's
	// config sent to retrain serve: seeds, limits, prompts, penalties.
	Client Access = "client"
)

// Key describes one key of a configuration, read from its struct field:
// the json tag names it, the doc tag describes it, the access tag marks
// who may set it, and the defaults value gives its default.
type Key struct {
	// Name is the key (the field's json tag).
	Name string `json:"name"`
	// Type is the key's JSON type in words, e.g. "an integer".
	Type string `json:"type"`
	// Doc describes the key in one line (the field's doc tag).
	Doc string `json:"doc,omitempty"`
	// Default is the default value as JSON; absent when it is the zero
	// value.
	Default json.RawMessage `json:"default,omitempty"`
	// Access says who may set the key. A nested key is client-settable
	// only when the keys above it are too.
	Access Access `json:"access"`
	// Keys are the nested keys of an object value (a struct, or an array
	// or map of them).
	Keys []Key `json:"keys,omitempty"`
}

// Keys describes the keys of a configuration struct in field order. v is
// the struct holding the defaults, or a pointer to it; a nil pointer
// describes the type with zero defaults. Anything else has no keys.
//
//	type Config struct {
//		MaxSteps int    `json:"max_steps" doc:"the step limit" access:"client"`
//		Command  string `json:"command" doc:"the server to run"`
//	}
//	keys := config.Keys(Config{MaxSteps: 10})
//	// [{max_steps an integer the step limit 10 client} {command a string the server to run operator}]
func Keys(v any) []Key {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil
	}
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv = reflect.Zero(rv.Type().Elem())
		} else {
			rv = rv.Elem()
		}
	}
	if rv.Kind() != reflect.Struct || hasOwnDecoding(rv.Type()) {
		return nil
	}
	return describe(rv, Client)
}

func describe(v reflect.Value, parent Access) []Key {
	info := fieldsOf(v.Type())
	keys := make([]Key, 0, len(info.fields))
	for _, f := range info.fields {
		k := Key{Name: f.name, Type: typeWords(f.typ), Doc: f.tag.Get("doc"), Access: Operator}
		if parent == Client && Access(f.tag.Get("access")) == Client {
			k.Access = Client
		}
		fv := fieldValue(v, f.index)
		if fv.IsValid() && !fv.IsZero() {
			k.Default = defaultJSON(fv)
		}
		if st, direct := nestedStruct(f.typ); st != nil {
			nv := reflect.Zero(st)
			if direct && fv.IsValid() {
				for fv.Kind() == reflect.Pointer && !fv.IsNil() {
					fv = fv.Elem()
				}
				if fv.Kind() == reflect.Struct {
					nv = fv
				}
			}
			k.Keys = describe(nv, k.Access)
		}
		keys = append(keys, k)
	}
	return keys
}

// fieldValue reads the field at index without allocating; invalid when it
// sits behind a nil embedded pointer.
func fieldValue(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

func defaultJSON(v reflect.Value) json.RawMessage {
	val := v.Interface()
	if v.Type() == durationType {
		val = time.Duration(v.Int()).String()
	}
	b, err := json.Marshal(val)
	if err != nil {
		return nil
	}
	return b
}

// hasOwnDecoding reports whether t decodes itself (and so has no keys).
func hasOwnDecoding(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}

// nestedStruct returns the struct type whose keys a field of type t has: t
// itself or what it points at (direct), or the elements of an array, slice
// or map of them.
func nestedStruct(t reflect.Type) (st reflect.Type, direct bool) {
	direct = true
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
			continue
		case reflect.Slice, reflect.Array, reflect.Map:
			if t == rawMessageType {
				return nil, false
			}
			t, direct = t.Elem(), false
			continue
		case reflect.Struct:
			if hasOwnDecoding(t) {
				return nil, false
			}
			return t, direct
		}
		return nil, false
	}
}

// OperatorKeys lists, as sorted dotted paths, the operator-only keys that
// the JSON object data sets (null included) in the configuration struct of
// v's type (v as for [Keys]). The keys below a client key are checked in
// turn; keys the struct does not have are not listed (decoding rejects
// them). A server checks a client's config with it before decoding:
//
//	if keys, err := config.OperatorKeys(raw, Config{}); err == nil && len(keys) > 0 {
//		return fmt.Errorf("a client may not set %s", strings.Join(keys, ", "))
//	}
func OperatorKeys(data []byte, v any) ([]string, error) {
	in, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	t := reflect.TypeOf(v)
	if t == nil {
		return nil, nil
	}
	var out []string
	operatorKeys("", in, t, &out)
	slices.Sort(out)
	return out, nil
}

func operatorKeys(path string, in any, t reflect.Type, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || hasOwnDecoding(t) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := in.(map[string]any)
		if !ok {
			return
		}
		info := fieldsOf(t)
		for _, k := range sortedKeys(obj) {
			f, ok := info.byName[k]
			if !ok {
				continue
			}
			p := join(path, k)
			if Access(f.tag.Get("access")) != Client {
				*out = append(*out, p)
				continue
			}
			operatorKeys(p, obj[k], f.typ, out)
		}
	case reflect.Slice, reflect.Array:
		arr, ok := in.([]any)
		if !ok {
			return
		}
		for i, item := range arr {
			operatorKeys(fmt.Sprintf("%s[%d]", path, i), item, t.Elem(), out)
		}
	case reflect.Map:
		obj, ok := in.(map[string]any)
		if !ok {
			return
		}
		for _, k := range sortedKeys(obj) {
			operatorKeys(join(path, k), obj[k], t.Elem(), out)
		}
	}
}
