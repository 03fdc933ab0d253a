package proxy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/chatwire"
	"github.com/retrain-rl/retrain/proxy"
)

// chanSink receives trajectories on a channel.
type chanSink chan *retrain.Trajectory

func (c chanSink) Write(t *retrain.Trajectory) error { c <- t; return nil }

// next returns the next trajectory written, failing after a while.
func (c chanSink) next(t *testing.T) *retrain.Trajectory {
	t.Helper()
	select {
	case tr := <-c:
		return tr
	case <-time.After(10 * time.Second):
		t.Fatal("no trajectory was written")
		return nil
	}
}

// start starts a proxy to upstream on a loopback test server.
func start(t *testing.T, o proxy.Options) (*proxy.Proxy, string) {
	t.Helper()
	p, err := proxy.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p, srv.URL
}

// post sends a JSON body and returns the status and body.
func post(t *testing.T, url, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// events reads a server-sent event stream: the raw data of each event.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
			out = append(out, string(d))
		}
	}
	return out
}

// mergeStream puts a stream back together; it fails without [DONE].
func mergeStream(t *testing.T, evs []string) *chatwire.Reply {
	t.Helper()
	var m chatwire.Merger
	for i, ev := range evs {
		c, err := chatwire.DecodeEvent([]byte(ev))
		if errors.Is(err, chatwire.ErrDone) {
			if i != len(evs)-1 {
				t.Errorf("[DONE] is event %d of %d", i, len(evs))
			}
			return m.Reply()
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Add(c)
	}
	t.Fatal("the stream has no [DONE]")
	return nil
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
