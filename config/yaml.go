package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxYAMLValues bounds the values a YAML document may expand to through
// aliases, against documents that expand exponentially.
const maxYAMLValues = 1 << 17

// maxYAMLDepth bounds the nesting of a YAML document.
const maxYAMLDepth = 100

// DecodeYAML decodes the YAML mapping data onto the struct that v points
// at, as [Decode] does for JSON: the document becomes the same maps and
// values as JSON would, and goes through the same strict decoding, so its
// errors read the same, with the key's line added. An empty document keeps
// the defaults.
func DecodeYAML(data []byte, v any) error {
	rv, err := target(v)
	if err != nil {
		return err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return &Error{Err: fmt.Errorf("is not valid YAML: %s", oneLine(err)), kind: ErrSyntax}
	}
	if len(root.Content) == 0 {
		return nil
	}
	doc := root.Content[0]
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return nil
	}
	if doc.Kind != yaml.MappingNode {
		return &Error{Line: doc.Line, Err: errors.New(`must be a mapping of keys to values, like "n: 4"`), kind: ErrNotObject}
	}
	c := &yamlConverter{lines: map[string]int{}, budget: maxYAMLValues}
	in, err := c.value("", doc, 0)
	if err != nil {
		return err
	}
	return (&decoder{format: "YAML", lines: c.lines}).decode("", in, rv)
}

// yamlConverter turns YAML nodes into the values JSON decodes to, and
// records the line of each key path.
type yamlConverter struct {
	lines  map[string]int
	budget int
}

func (c *yamlConverter) value(path string, n *yaml.Node, depth int) (any, error) {
	c.budget--
	switch {
	case c.budget < 0:
		return nil, &Error{Key: path, Line: n.Line, Err: errors.New("the document expands to too many values (aliases?)"), kind: ErrSyntax}
	case depth > maxYAMLDepth:
		return nil, &Error{Key: path, Line: n.Line, Err: fmt.Errorf("the document nests deeper than %d levels", maxYAMLDepth), kind: ErrSyntax}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(path, n.Content[0], depth)
	case yaml.AliasNode:
		return c.value(path, n.Alias, depth)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		var merged []*yaml.Node // the mappings of merge keys (<<: *base)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &Error{Key: path, Line: k.Line, Err: errors.New("a key must be a plain string"), kind: ErrSyntax}
			}
			if k.Tag == "!!merge" {
				merged = append(merged, v)
				continue
			}
			p := join(path, k.Value)
			if _, seen := c.lines[p]; !seen {
				c.lines[p] = k.Line
			}
			val, err := c.value(p, v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		// The keys written out win over merged ones; of several merged
		// mappings, the first that has a key gives it, as in YAML 1.1.
		for _, mn := range merged {
			for mn.Kind == yaml.AliasNode {
				mn = mn.Alias
			}
			sources := []*yaml.Node{mn}
			if mn.Kind == yaml.SequenceNode {
				sources = mn.Content
			}
			for _, src := range sources {
				val, err := c.value(path, src, depth+1)
				if err != nil {
					return nil, err
				}
				from, ok := val.(map[string]any)
				if !ok {
					return nil, &Error{Key: path, Line: src.Line, Err: errors.New("a merge key (<<) must name a mapping or a list of them"), kind: ErrSyntax}
				}
				for k, v := range from {
					if _, set := m[k]; !set {
						m[k] = v
					}
				}
			}
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			c.lines[p] = item.Line
			val, err := c.value(p, item, depth+1)
			if err != nil {
				return nil, err
			}
			s[i] = val
		}
		return s, nil
	case yaml.ScalarNode:
		var x any
		if err := n.Decode(&x); err != nil {
			return nil, &Error{Key: path, Line: n.Line, Err: errors.New(oneLine(err)), kind: ErrSyntax}
		}
		switch x := x.(type) {
		case nil, string, bool:
			return x, nil
		case int:
			return json.Number(strconv.Itoa(x)), nil
		case int64:
			return json.Number(strconv.FormatInt(x, 10)), nil
		case uint64:
			return json.Number(strconv.FormatUint(x, 10)), nil
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return x, nil
			}
			return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
		case time.Time:
			return n.Value, nil
		}
		return n.Value, nil
	}
	return nil, &Error{Key: path, Line: n.Line, Err: fmt.Errorf("unsupported YAML node kind %d", n.Kind), kind: ErrSyntax}
}

// oneLine joins the lines of err's message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
