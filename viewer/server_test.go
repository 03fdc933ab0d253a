package viewer

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/rollout"
)

// get fetches url with the given headers and returns the status and body.
func get(t *testing.T, url string, header map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// Every page is served, with a policy that lets nothing but the server's
// own stylesheet load, and no script; a bad request says what was wrong.
func TestPages(t *testing.T) {
	base, s := serve(t, []string{writeFixture(t, t.TempDir()), fixtureTrainLog(t, t.TempDir())}, nil)
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "rollouts.jsonl"},
		{"/f/0", 200, `id="episodes"`},
		{"/f/0?task=t1&sort=adv&order=desc&min=0&max=2&pass=yes&drift=0&failed=no&page=1&per=10", 200, `<span id="matched">2</span>`},
		{fmt.Sprintf("/f/0/e/%d", rowOf(t, s, "t2#3")), 200, "model: connection refused"},
		{"/f/0/group?task=t2", 200, `id="samples"`},
		{"/f/1", 200, `id="chart-kl"`},
		{"/static/style.css", 200, ".tok.h5"},
		{"/health", 200, `"ok"`},
		{"/f/2", 404, "there is no file &#34;2&#34;: this server shows files 0 to 1"},
		{"/f/x/e/1", 404, "there is no file"},
		{"/f/0/e/20", 404, "it has episodes 0 to 19"},
		{"/f/0/e/-1", 404, "there is no episode"},
		{"/f/1/e/0", 404, "is a training log"},
		{"/f/0/group?task=nope", 404, "has no episodes of task &#34;nope&#34;"},
		{"/f/0?sort=secret", 400, "is not a column: use one of"},
		{"/f/0?page=-3", 400, "page=&#34;-3&#34;: it must be a whole number"},
		{"/f/0/../../etc/passwd", 404, ""},
	} {
		status, body, h := get(t, base+c.path, nil)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.400s", c.path, status, c.status, c.want, body)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
		if strings.Contains(body, "<script") {
			t.Errorf("GET %s: the page has a script", c.path)
		}
	}
}

// With one file, the home page is that file's page.
func TestHomeRedirect(t *testing.T) {
	base, _ := serve(t, []string{writeFixture(t, t.TempDir())}, nil)
	status, body, _ := get(t, base+"/", nil)
	if status != 200 || !strings.Contains(body, `id="episodes"`) {
		t.Errorf("GET /: %d\n%.300s", status, body)
	}
}

// The front door is the one of every listener: a rebound host or a web
// page's cross-origin request is refused before any page.
func TestFrontDoor(t *testing.T) {
	base, _ := serve(t, []string{writeFixture(t, t.TempDir())}, nil)
	for name, h := range map[string]map[string]string{
		"DNS rebinding": {"Host": "evil.example"},
		"cross-origin":  {"Origin": "https://evil.example"},
	} {
		if status, body, _ := get(t, base+"/f/0", h); status != http.StatusForbidden || strings.Contains(body, "episodes") {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	// With a token, pages need it, and every link they make carries it.
	base, _ = serve(t, []string{writeFixture(t, t.TempDir())}, &Options{Token: "s3cret"})
	if status, _, _ := get(t, base+"/f/0", nil); status != http.StatusUnauthorized {
		t.Errorf("without the token: %d", status)
	}
	status, body, _ := get(t, base+"/f/0?token=s3cret", nil)
	if status != 200 || !strings.Contains(body, `href="/f/0/e/0?token=s3cret"`) || !strings.Contains(body, `name="token" value="s3cret"`) ||
		!strings.Contains(body, `href="/static/style.css?token=s3cret"`) {
		t.Errorf("with the token: %d, links without it:\n%.2000s", status, body)
	}
}

// What a model or a task wrote is shown as text, never run as markup.
func TestEpisodeEscapes(t *testing.T) {
	tr := fixtureTrajectory(0, 0)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	tr.ID, tr.Task.ID = evil+"#0", evil
	tr.Messages[1].Content = evil
	tr.Turns[0].Action.Tokens.Text[1] = evil
	tr.Turns[0].Info = retrain.Info{"note": evil}
	path := filepath.Join(t.TempDir(), "evil.jsonl")
	w, err := rollout.OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(tr)
	w.Close()
	base, _ := serve(t, []string{path}, nil)
	for _, p := range []string{"/f/0", "/f/0/e/0", "/f/0/group?task=" + strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20", "=", "%3D", "(", "%28", ")", "%29", "/", "%2F").Replace(evil)} {
		status, body, _ := get(t, base+p, nil)
		if status != 200 || strings.Contains(body, "<script>") || strings.Contains(body, "<img") || !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("GET %s: %d, markup not escaped:\n%.3000s", p, status, body)
		}
	}
}

// A file changed under the server after indexing is an error page saying
// to restart, not a crash.
func TestChangedFile(t *testing.T) {
	path := writeFixture(t, t.TempDir())
	base, _ := serve(t, []string{path}, nil)
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, body, _ := get(t, base+"/f/0/e/3", nil)
	if status != http.StatusInternalServerError || !strings.Contains(body, "restart retrain view") {
		t.Errorf("%d %.500s", status, body)
	}
}

// Pages may be served at once: the sorted orders are computed once, under
// a lock, and every request sees the same rows.
func TestConcurrentPages(t *testing.T) {
	base, _ := serve(t, []string{writeFixture(t, t.TempDir())}, nil)
	sorts := []string{"reward", "adv", "tokens", "turns", "task", "time", "stop", "id", "line"}
	errs := make(chan error, 2*len(sorts))
	for _, key := range sorts {
		for _, order := range []string{"asc", "desc"} {
			go func() {
				resp, err := http.Get(base + "/f/0?sort=" + key + "&order=" + order)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), `<span id="matched">20</span>`) {
					err = fmt.Errorf("sort=%s&order=%s: %d", key, order, resp.StatusCode)
				}
				errs <- err
			}()
		}
	}
	for range 2 * len(sorts) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A turn whose reply is not among the messages is still shown, with its
// tokens.
func TestTurnWithoutMessage(t *testing.T) {
	tr := fixtureTrajectory(1, 0)
	tr.Messages = tr.Messages[:2] // the replies left out
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w, err := rollout.OpenJSONL(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(tr)
	w.Close()
	base, _ := serve(t, []string{path}, nil)
	status, body, _ := get(t, base+"/f/0/e/0", nil)
	if status != 200 || !strings.Contains(body, `id="turn-0"`) || !strings.Contains(body, `id="turn-1"`) || !strings.Contains(body, `data-lp="-4.75"`) {
		t.Errorf("%d\n%.3000s", status, body)
	}
}
