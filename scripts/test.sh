#!/usr/bin/env bash
# Installs what the tests need and runs them. This is the README's test command
# and what CI runs (.ci/run). It needs Go 1.26; python3, node and npm are
# installed from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the tests drive as real processes: python3 (the Gymnasium bridge's
# shim, the Python client of retrain serve) and node/npm (the MCP reference
# servers). Install them from Debian's packages when missing (as root).
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v npm >/dev/null || missing+=(nodejs npm)
# numpy for Debian's /usr/bin/python3: the training-view example (clients/python/grpo_batch.py).
/usr/bin/python3 -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (apt)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "the tests need: ${missing[*]}; install them (apt-get install -y ${missing[*]}) and run again" >&2
    exit 1
  fi
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== go modules"
go mod download

if [ -f testdata/mcp-servers/package.json ]; then
  echo "== MCP reference servers (npm, pinned in testdata/mcp-servers)"
  (cd testdata/mcp-servers && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -f testdata/parquet-reader/package.json ]; then
  echo "== Parquet reader (npm, pinned in testdata/parquet-reader): reads retrain export's Parquet in the tests"
  (cd testdata/parquet-reader && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
