package dist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a NATS server with JetStream running in this process.
type Server struct {
	s   *server.Server
	url string
}

// StartEmbedded starts a NATS server with JetStream in this process,
// listening on listen (host:port; port 0 picks a free one; a loopback
// address: anyone who reaches it may connect; see [StartEmbeddedWith]) and
// storing its streams under dir.
func StartEmbedded(dir, listen string) (*Server, error) { return StartEmbeddedWith(dir, listen, nil) }

// StartEmbeddedWith is [StartEmbedded] with clients authenticated and the
// listener secured as o says (nil: neither): the server then refuses any
// client without o's token, or user and password, and with o's TLS files
// serves TLS only, and with a client CA any client without a certificate
// of that CA. A listen address that is not a loopback one (remote workers
// connect) requires a token, a user or a client CA, so that not everyone
// on the network can read and feed the run. Every file is read, and its
// problems reported (naming the flag that gives it), before the server
// starts.
func StartEmbeddedWith(dir, listen string, o *EmbeddedOptions) (*Server, error) {
	var a EmbeddedOptions
	if o != nil {
		a = *o
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("dist: listen address %q: %v; write host:port, e.g. 127.0.0.1:4222", listen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("dist: listen address %q: the port is not a number from 0 to 65535", listen)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	if err := a.checkAuth(host); err != nil {
		return nil, err
	}
	tc, clientHost, err := a.serverTLS(host)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "retrain-embedded",
		Host:       host,
		Port:       p,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 8 << 20, // a long trajectory
	}
	if a.User != "" {
		opts.Username, opts.Password = a.User, a.Password
	} else {
		opts.Authorization = a.Token
	}
	if tc != nil {
		opts.TLS, opts.TLSConfig, opts.TLSVerify = true, tc, a.TLSClientCA != ""
		opts.TLSTimeout = 5 // seconds, for a handshake on a busy machine (NATS's default: 2)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("dist: embedded NATS server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("dist: the embedded NATS server did not start listening on %s in 10s (is the port taken?)", listen)
	}
	srv := &Server{s: s, url: s.ClientURL()}
	if tc != nil { // tls://, by a host its certificate holds
		u, err := url.Parse(srv.url)
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("dist: the embedded NATS server's URL %q: %v", srv.url, err)
		}
		u.Host = net.JoinHostPort(clientHost, u.Port())
		srv.url = u.String()
	}
	return srv, nil
}

// loopback reports whether host is a loopback address or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the URL by which a client on this machine connects to the
// server, e.g. nats://127.0.0.1:4222; with TLS, tls://HOST:PORT, where HOST
// is one its certificate holds.
func (s *Server) URL() string { return s.url }

// Close shuts the server down and waits until it has.
func (s *Server) Close() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}

// jetStream returns nc's JetStream context, checking that the server has
// JetStream enabled (asking three times, 10 s each, when it does not
// answer).
func jetStream(ctx context.Context, nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	// Asked up to three times: an answer can take long from a busy server,
	// or a cluster electing its JetStream leader.
	for try := 1; ; try++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.AccountInfo(actx)
		cancel()
		switch {
		case err == nil:
			return js, nil
		case errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
			return nil, fmt.Errorf("dist: the NATS server at %s has JetStream disabled; start it with -js (or jetstream {} in its config)", nc.ConnectedUrlRedacted())
		case try < 3 && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)):
			continue
		}
		return nil, fmt.Errorf("dist: JetStream at %s: %w", nc.ConnectedUrlRedacted(), err)
	}
}

// DefaultRunID is the run id when none is given.
const DefaultRunID = "retrain"

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// names are the subjects, streams and consumers of one run.
type names struct {
	run               string
	episodes, results string // subjects
	episodeStream     string
	workerConsumer    string
}

func namesOf(runID string) (names, error) {
	if runID == "" {
		runID = DefaultRunID
	}
	if !runIDPattern.MatchString(runID) {
		return names{}, fmt.Errorf("dist: run id %q: use 1 to 64 letters, digits, _ or -", runID)
	}
	return names{
		run:            runID,
		episodes:       "retrain." + runID + ".episodes",
		results:        "retrain." + runID + ".results",
		episodeStream:  "RETRAIN_" + runID + "_EPISODES",
		workerConsumer: "workers",
	}, nil
}
