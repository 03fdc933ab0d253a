package grpo

import (
	"encoding/json"
	"fmt"
	"io"
)

// metricsWriter writes the metrics as JSON Lines; a nil writer discards
// them.
type metricsWriter struct{ w io.Writer }

func newMetricsWriter(w io.Writer) *metricsWriter { return &metricsWriter{w} }

func (m *metricsWriter) write(v any) error {
	if m.w == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("grpo: metrics: %w", err)
	}
	if _, err := m.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("grpo: write the metrics: %w", err)
	}
	return nil
}
