package toolenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/tool/mcp"
)

// mcpProvider reads the "mcp" config key: the path of an mcpServers file, or
// the mcpServers object inline. The servers start when the first
// environment's Setup collects the tools.
func mcpProvider(raw json.RawMessage) (*mcp.Provider, error) {
	raw = bytes.TrimSpace(raw)
	var cfg *mcp.Config
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var path string
		if err := json.Unmarshal(raw, &path); err != nil {
			return nil, fmt.Errorf("config key \"mcp\": %w", err)
		}
		if path == "" {
			return nil, errors.New("config key \"mcp\" is empty; give the path of an mcpServers JSON file, or the object inline")
		}
		c, err := mcp.LoadConfig(path)
		if err != nil {
			return nil, fmt.Errorf("config key \"mcp\": %w", err)
		}
		cfg = c
	case len(raw) > 0 && raw[0] == '{':
		c, err := mcp.ParseConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("config key \"mcp\": %w", err)
		}
		cfg = c
	default:
		return nil, fmt.Errorf("config key \"mcp\" must be the path of an mcpServers JSON file or the object {\"mcpServers\": {...}}, got %s", raw)
	}
	if len(cfg.Servers) == 0 {
		return nil, errors.New("config key \"mcp\": no servers are configured")
	}
	p, err := mcp.NewProvider(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("config key \"mcp\": %w", err)
	}
	return p, nil
}

// closingFactory is a Factory that also closes the MCP servers it started
// when it is closed.
type closingFactory struct {
	env.Factory
	mcp *mcp.Provider
}

// Close closes the factory, then stops the MCP servers.
func (f *closingFactory) Close() error {
	return errors.Join(f.Factory.Close(), f.mcp.Close())
}
