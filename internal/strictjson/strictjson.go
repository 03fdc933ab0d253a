// Package strictjson reads the errors of strict JSON decoding
// ([json.Decoder.DisallowUnknownFields]), which encoding/json reports only
// as text, so that a config reader can name the unknown key and list the
// allowed ones.
//
//	dec := json.NewDecoder(bytes.NewReader(data))
//	dec.DisallowUnknownFields()
//	if err := dec.Decode(&cfg); err != nil {
//		if key, ok := strictjson.UnknownField(err); ok {
//			return fmt.Errorf("unknown key %q; allowed keys: ...", key)
//		}
//	}
package strictjson

import "strings"

// UnknownField returns the key of encoding/json's unknown-field error
// (json: unknown field "name"), and whether err is one.
func UnknownField(err error) (string, bool) {
	msg := err.Error()
	const marker = `unknown field "`
	i := strings.Index(msg, marker)
	if i < 0 {
		return "", false
	}
	rest := msg[i+len(marker):]
	j := strings.LastIndex(rest, `"`)
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}
