package httpserve_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/internal/httpserve"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// A request in flight when ctx is done is finished before Serve returns;
// Stopping runs first; new connections are refused afterwards.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	ln := listen(t)
	url := "http://" + ln.Addr().String()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopping := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- httpserve.Serve(ctx, ln, h, &httpserve.Options{Stopping: func() { close(stopping) }})
	}()
	type reply struct {
		body string
		err  error
	}
	replies := make(chan reply, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			replies <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		replies <- reply{string(b), err}
	}()
	<-entered
	cancel()
	<-stopping
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(release)
	if r := <-replies; r.err != nil || r.body != "done" {
		t.Errorf("request in flight: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if _, err := client.Get(url); err == nil {
		t.Error("a request after shutdown succeeded")
	}
}

// A request still running after the grace period has its connection closed,
// and Serve returns nil.
func TestServeClosesAfterGrace(t *testing.T) {
	ln := listen(t)
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // until the connection is closed
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- httpserve.Serve(ctx, ln, h, &httpserve.Options{Grace: 20 * time.Millisecond})
	}()
	got := make(chan error, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String())
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	<-entered
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after forcing the shutdown", err)
	}
	if err := <-got; err == nil {
		t.Error("the request cut by the shutdown succeeded")
	}
}

// A listener that fails makes Serve return its error at once.
func TestServeListenerError(t *testing.T) {
	ln := listen(t)
	ln.Close()
	err := httpserve.Serve(context.Background(), ln, http.NotFoundHandler(), nil)
	if err == nil || !errors.Is(err, net.ErrClosed) || !strings.HasPrefix(err.Error(), "serve: ") {
		t.Errorf("Serve on a closed listener = %v", err)
	}
}
