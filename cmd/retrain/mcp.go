package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/internal/httpsec"
	"github.com/retrain-rl/retrain/internal/httpserve"
	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/mcp"
	// fs_task, the example environment whose tools come from an MCP server,
	// registers itself.
)

func init() {
	mcpServeCommand.run = runMCPServe
	register(mcpServeCommand)
}

var mcpServeCommand = &command{
	name:    "mcp serve",
	summary: "serve the registered tools as an MCP server (stdio, or streamable HTTP with --http)",
	usage: "[--http [ADDR]] [--tools NAME,...] [--mcp CONFIG] [--timeout D] [--token TOKEN]\n\n" +
		"Over HTTP, the listener flags (--token, --insecure, --allow-origin, --max-conns, --max-body and the\n" +
		"timeouts) work as for \"retrain serve\"; see docs/security.md.",
}

// defaultMCPAddr is where --http listens when given without an address.
const defaultMCPAddr = "127.0.0.1:8765"

// loadMCP reads an mcpServers file and returns a provider over its servers.
// A server that fails to start is reported with the end of its stderr.
func loadMCP(path string) (*mcp.Provider, error) {
	cfg, err := mcp.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("MCP config %s has no servers", path)
	}
	return mcp.NewProvider(cfg, nil)
}

// httpFlag is --http: bare, it means defaultMCPAddr; --http=ADDR (or
// --http ADDR, see runMCPServe) sets the address.
type httpFlag struct {
	addr string
	bare bool
}

func (f *httpFlag) String() string   { return f.addr }
func (f *httpFlag) IsBoolFlag() bool { return true }
func (f *httpFlag) Set(s string) error {
	switch s {
	case "true":
		f.addr, f.bare = defaultMCPAddr, true
	case "false":
		f.addr, f.bare = "", false
	default:
		f.addr, f.bare = s, false
	}
	return nil
}

func runMCPServe(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(mcpServeCommand, s.err)
	var httpAddr httpFlag
	fs.Var(&httpAddr, "http", "serve streamable HTTP at `ADDR` (host:port; bare --http means "+defaultMCPAddr+") instead of stdio; the endpoint is /mcp")
	names := fs.String("tools", "", "serve only these tools (comma-separated names); default all")
	timeout := fs.Duration("timeout", tool.DefaultTimeout, "bound each tool call; a call that runs longer is an error result")
	src := addToolSourceFlags(fs)
	front := addFrontFlags(fs, "RETRAIN_MCP_TOKEN")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := front.check(); err != nil {
		return err
	}
	if httpAddr.bare && len(pos) == 1 {
		httpAddr.addr, pos = pos[0], nil // --http ADDR
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected arguments %q; to serve HTTP at an address write --http ADDR", pos)
	}
	if *timeout <= 0 {
		return usageErrorf("--timeout must be positive, got %v", *timeout)
	}

	set, release, err := src.load(ctx)
	if err != nil {
		return err
	}
	defer release()
	var tools []tool.Tool
	if *names == "" {
		for _, n := range set.Names() {
			t, _ := set.Lookup(n)
			tools = append(tools, t)
		}
	} else {
		for _, n := range strings.Split(*names, ",") {
			t, ok := set.Lookup(strings.TrimSpace(n))
			if !ok {
				return usageErrorf("--tools: unknown tool %q; available tools: %s", strings.TrimSpace(n), strings.Join(set.Names(), ", "))
			}
			tools = append(tools, t)
		}
	}
	srv, err := mcp.NewServer(tools, &mcp.ServerOptions{Call: &tool.CallOptions{Timeout: *timeout}})
	if err != nil {
		return err
	}

	if httpAddr.addr == "" {
		// stdout carries the protocol: report on stderr only.
		fmt.Fprintf(s.err, "retrain mcp serve: serving %s over stdio\n", countTools(len(tools)))
		t := &sdk.IOTransport{Reader: io.NopCloser(s.in), Writer: nopWriteCloser{s.out}}
		if err := srv.Run(ctx, t); err != nil && !errors.Is(err, context.Canceled) && !isEOF(err) {
			return err
		}
		return nil
	}
	return serveMCPHTTP(ctx, srv, httpAddr.addr, front, len(tools), s)
}

// serveMCPHTTP serves srv over streamable HTTP at addr until ctx is done.
// The front door (front.handler) checks each request before the SDK's
// handler: the loopback Host rule is the same as the SDK's DNS rebinding
// protection, which stays on.
func serveMCPHTTP(ctx context.Context, srv *sdk.Server, addr string, front *frontFlags, n int, s stdio) error {
	ln, err := front.listen(addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	fmt.Fprintf(s.err, "retrain mcp serve: serving %s over streamable HTTP at http://%s/mcp\n", countTools(n), ln.Addr())
	if *front.token == "" && !httpsec.IsLoopbackAddr(ln.Addr()) {
		fmt.Fprintln(s.err, "retrain mcp serve: warning: listening on a non-loopback address without a token (--insecure); anyone who can reach this port can call the tools")
	}
	err = httpserve.Serve(ctx, ln, front.handler(mux, nil), front.serveOptions())
	for ss := range srv.Sessions() {
		ss.Close()
	}
	return err
}

// countTools says "1 tool" or "N tools".
func countTools(n int) string {
	if n == 1 {
		return "1 tool"
	}
	return fmt.Sprintf("%d tools", n)
}

// nopWriteCloser lets the command's stdout serve as a transport's writer
// without closing it.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// isEOF reports whether err is the client closing the stdio stream.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed)
}
