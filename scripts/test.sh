#!/usr/bin/env bash
# Installs what the tests need and runs them. This is the README's test command
# and what CI runs (.ci/run). It needs Go and, for the MCP reference-server
# tests, Node.js with npm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go modules"
go mod download

if [ -f testdata/mcp-servers/package.json ]; then
  echo "== MCP reference servers (npm, pinned in testdata/mcp-servers)"
  command -v npm >/dev/null || { echo "npm is required for the MCP tests: apt-get install -y nodejs npm" >&2; exit 1; }
  (cd testdata/mcp-servers && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
