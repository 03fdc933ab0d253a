package mcp

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(serverEnv); mode != "" {
		runStdioServer(mode)
		return
	}
	goleak.VerifyTestMain(m)
}
