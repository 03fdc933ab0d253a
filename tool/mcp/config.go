package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/tool"
)

// Config is an "mcpServers" file, the layout Claude Desktop, Cursor and most
// MCP clients use:
//
//	{"mcpServers": {
//	  "fs":     {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "prefix": "fs_"},
//	  "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
//	}}
type Config struct {
	// Servers are the servers by name. The name is used in messages and,
	// unless a prefix is set, does not change the tools' names.
	Servers map[string]*ServerConfig `json:"mcpServers"`
}

// ServerConfig is one server of a [Config]: a command to run (stdio) or a URL
// (streamable HTTP), plus how its tools are offered to the model.
type ServerConfig struct {
	// Name is the server's name: its key in the "mcpServers" object.
	Name string `json:"-"`
	// Type is optional: "stdio", or "http" (also spelled "streamable-http"
	// or "streamableHttp"). When set it must agree with Command or URL.
	Type string `json:"type,omitempty"`

	// Command is the program to run for a stdio server; Args its arguments.
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Env holds variables set for the command. The command gets these and
	// a minimal environment (internal/procenv: PATH, HOME, the locale),
	// never the rest of this process's; pass a variable on with
	// "NAME": "${NAME}".
	Env map[string]string `json:"env,omitempty"`
	// Cwd is the command's working directory; empty means this process's.
	Cwd string `json:"cwd,omitempty"`

	// URL is the endpoint of a streamable HTTP server.
	URL string `json:"url,omitempty"`
	// Headers are sent with every HTTP request (e.g. Authorization).
	Headers map[string]string `json:"headers,omitempty"`

	// Prefix is prepended to the server's tool names (e.g. "fs_"), so that
	// several servers' tools do not clash.
	Prefix string `json:"prefix,omitempty"`
	// Allow, when not empty, keeps only the tools whose server-side names
	// match one of its patterns (path.Match syntax: "read_*").
	Allow []string `json:"allow,omitempty"`
	// Deny drops the tools whose server-side names match one of its patterns.
	Deny []string `json:"deny,omitempty"`
	// Timeout bounds each tool call, e.g. "30s"; zero means
	// [Options.Timeout]. It bounds starting the server and the MCP
	// handshake too, when shorter than [Options.ConnectTimeout]: give a
	// server that starts slowly (npx downloading it) a longer one.
	Timeout Duration `json:"timeout,omitzero"`
	// Disabled servers are skipped.
	Disabled bool `json:"disabled,omitempty"`

	// Dial, when set, replaces Command and URL: it returns a new transport
	// for each connection attempt (an in-process server, a custom
	// transport). It cannot be set from JSON.
	Dial func(ctx context.Context) (sdk.Transport, error) `json:"-"`
}

// Duration is a time.Duration written in JSON as a string such as "30s" or
// "1m30s".
type Duration time.Duration

// UnmarshalJSON accepts a duration string with its unit.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("write a duration as a string with its unit, like \"30s\" or \"2m\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like \"30s\" or \"2m\"", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string such as "30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// String formats the duration like time.Duration, e.g. "30s".
func (d Duration) String() string { return time.Duration(d).String() }

// IsZero reports whether d is zero (for omitzero).
func (d Duration) IsZero() bool { return d == 0 }

// LoadConfig reads and parses an mcpServers file; see [ParseConfig].
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading MCP config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("MCP config %s: %w", file, err)
	}
	return cfg, nil
}

// ParseConfig parses an mcpServers JSON document (or the object that would
// be its value). Unknown keys are errors, as are servers with neither or both
// of "command" and "url". References to environment variables, ${NAME} or
// ${NAME:-default}, are expanded in command, args, env, cwd, url and headers;
// an unset variable without a default is an error.
func ParseConfig(data []byte) (*Config, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New(`empty MCP config; write {"mcpServers": {"name": {"command": "..."}}}`)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		if !json.Valid(trimmed) {
			return nil, fmt.Errorf("MCP config is not valid JSON: %w", jsonDetail(err))
		}
		return nil, errors.New(`MCP config is not a JSON object; write {"mcpServers": {"name": {"command": "..."}}}`)
	}
	serversRaw, ok := top["mcpServers"]
	if ok {
		for k := range top {
			if k != "mcpServers" {
				return nil, fmt.Errorf("unknown key %q at the top of the MCP config; only \"mcpServers\" is allowed", k)
			}
		}
	} else {
		if _, vs := top["servers"]; vs {
			return nil, errors.New(`the MCP config has "servers" (VS Code's layout); rename it to "mcpServers"`)
		}
		for k := range top {
			if strings.EqualFold(strings.ReplaceAll(k, "_", ""), "mcpservers") {
				return nil, fmt.Errorf("the MCP config has %q; spell it \"mcpServers\"", k)
			}
		}
		// The inline form: the servers object itself.
		serversRaw = trimmed
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(serversRaw, &raw); err != nil {
		return nil, fmt.Errorf(`"mcpServers" must be an object of servers by name: %w`, jsonDetail(err))
	}
	cfg := &Config{Servers: make(map[string]*ServerConfig, len(raw))}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		sc, err := parseServer(name, raw[name])
		if err != nil {
			return nil, fmt.Errorf("server %q: %w", name, err)
		}
		cfg.Servers[name] = sc
	}
	return cfg, nil
}

func parseServer(name string, data json.RawMessage) (*ServerConfig, error) {
	if name == "" {
		return nil, errors.New("a server needs a non-empty name")
	}
	var sc ServerConfig
	if err := config.Decode(data, &sc); err != nil {
		var ce *config.Error
		switch {
		case !errors.As(err, &ce):
			return nil, err
		case errors.Is(err, config.ErrUnknownKey):
			return nil, fmt.Errorf("unknown key %q; allowed keys: %s", ce.Key, strings.Join(ce.Allowed, ", "))
		case ce.Key != "":
			return nil, fmt.Errorf("key %q: %w", ce.Key, ce.Err)
		}
		return nil, fmt.Errorf("not a valid server entry: %w", ce.Err)
	}
	sc.Name = name
	if err := sc.expand(os.LookupEnv); err != nil {
		return nil, err
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// jsonDetail rewrites encoding/json errors of the file's outer objects in
// the words of a config file (a server's entry is read by config.Decode).
func jsonDetail(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Errorf("expected %s, got a JSON %s", typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("invalid JSON: unexpected end of input")
	}
	return err
}

// Validate checks that the server has exactly one of a command, a URL or a
// Dial function, and that its other fields make sense.
func (sc *ServerConfig) Validate() error {
	n := 0
	for _, set := range []bool{sc.Command != "", sc.URL != "", sc.Dial != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New(`no "command" (a stdio server) and no "url" (a streamable HTTP server); set one`)
	case n > 1:
		return errors.New(`both "command" and "url" are set; a server is either a command (stdio) or a URL (streamable HTTP), not both`)
	}
	switch strings.ToLower(sc.Type) {
	case "":
	case "stdio":
		if sc.Command == "" {
			return errors.New(`"type" is "stdio" but there is no "command"`)
		}
	case "http", "streamable-http", "streamablehttp", "streamable_http":
		if sc.URL == "" {
			return fmt.Errorf(`"type" is %q but there is no "url"`, sc.Type)
		}
	case "sse":
		return errors.New(`the deprecated SSE transport ("type": "sse") is not supported; use the server's streamable HTTP endpoint`)
	default:
		return fmt.Errorf(`unknown "type" %q; use "stdio" or "http"`, sc.Type)
	}
	if sc.URL != "" {
		u, err := url.Parse(sc.URL)
		if err != nil {
			return fmt.Errorf(`"url": %w`, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf(`"url" %q must start with http:// or https://`, sc.URL)
		}
		if u.Host == "" {
			return fmt.Errorf(`"url" %q has no host`, sc.URL)
		}
	}
	if sc.Command == "" {
		if len(sc.Args) > 0 || len(sc.Env) > 0 || sc.Cwd != "" {
			return errors.New(`"args", "env" and "cwd" only apply to a "command" server`)
		}
	}
	if sc.Prefix != "" {
		if err := tool.ValidName(sc.Prefix); err != nil {
			return fmt.Errorf(`"prefix" %q: use only letters, digits, '_', '-' and '.'`, sc.Prefix)
		}
	}
	if sc.URL == "" && len(sc.Headers) > 0 {
		return errors.New(`"headers" only apply to a "url" server`)
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"allow", sc.Allow}, {"deny", sc.Deny}} {
		for _, p := range list.patterns {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("%q: bad pattern %q: %w", list.key, p, err)
			}
		}
	}
	return nil
}

// keeps reports whether the server-side tool name passes Allow and Deny.
func (sc *ServerConfig) keeps(name string) bool {
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	if len(sc.Allow) > 0 && !match(sc.Allow) {
		return false
	}
	return !match(sc.Deny)
}

// expand replaces ${NAME} and ${NAME:-default} in the fields that commonly
// carry secrets or paths.
func (sc *ServerConfig) expand(lookup func(string) (string, bool)) error {
	var err error
	one := func(field string, s *string) {
		if err != nil {
			return
		}
		var e error
		*s, e = expandVars(*s, lookup)
		if e != nil {
			err = fmt.Errorf("%s: %w", field, e)
		}
	}
	one(`"command"`, &sc.Command)
	one(`"cwd"`, &sc.Cwd)
	one(`"url"`, &sc.URL)
	for i := range sc.Args {
		one(fmt.Sprintf(`"args"[%d]`, i), &sc.Args[i])
	}
	for _, k := range slices.Sorted(maps.Keys(sc.Env)) {
		v := sc.Env[k]
		one(fmt.Sprintf(`"env".%s`, k), &v)
		sc.Env[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(sc.Headers)) {
		v := sc.Headers[k]
		one(fmt.Sprintf(`"headers".%s`, k), &v)
		sc.Headers[k] = v
	}
	return err
}

// expandVars expands ${NAME} and ${NAME:-default} in s. A "$" not followed by
// "{" is kept as it is.
func expandVars(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		ref := rest[:j]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("bad variable reference ${%s}: write ${NAME} or ${NAME:-default}", ref)
		}
		v, ok := lookup(name)
		switch {
		case ok && v != "":
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		case ok:
		default:
			return "", fmt.Errorf("environment variable %s is not set (write ${%s:-default} for a default)", name, name)
		}
		s = rest[j+1:]
	}
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
