package viewer

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/rollout"
)

var benchEpisodes = flag.Int("bench-episodes", 100_000, "episodes in the file of BenchmarkView")

// benchTrajectory is a two-turn episode of about 10 KB, the size of a
// calculator episode with token ids and log-probs (a 100,000-episode file
// is about 1 GB).
func benchTrajectory(i int) *retrain.Trajectory {
	t := fixtureTrajectory(1, 0)
	t.ID, t.Task.ID, t.Sample = fmt.Sprintf("task-%d#%d", i/8, i%8), fmt.Sprintf("task-%d", i/8), i%8
	const n = 160
	for k := range t.Turns {
		tk := &retrain.Tokens{}
		for j := range n {
			tk.IDs = append(tk.IDs, int32(1000+j))
			tk.Text = append(tk.Text, fmt.Sprintf(" tok%d", j))
			tk.Logprobs = append(tk.Logprobs, -math.Abs(math.Sin(float64(i*n+j)))*3)
		}
		t.Turns[k].Action.Tokens = tk
		t.Turns[k].Action.Raw = strings.Join(tk.Text, "")
	}
	t.Rewards.Total = float64(i%5) / 4
	t.Rewards.Rollout["correct"] = float64(i % 2)
	adv := t.Rewards.Total - 0.5
	t.Rewards.Advantage = &adv
	if i%97 == 0 {
		t.Error, t.ErrorCause, t.StopReason, t.Rewards = "model: timeout", retrain.CauseTimeout, retrain.StopDeadline, nil
	}
	return t
}

// writeBenchFile writes n episodes to a file in dir.
func writeBenchFile(b *testing.B, dir string, n int) string {
	path := filepath.Join(dir, "big.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		if err := rollout.EncodeTrajectory(w, benchTrajectory(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkView indexes a file of 100,000 episodes (about 1 GB) and serves
// pages of it: the goal is indexing at disk speed and any page in under
// 100 ms.
//
//	go test ./viewer -run '^$' -bench View -benchtime 3x
func BenchmarkView(b *testing.B) {
	path := writeBenchFile(b, b.TempDir(), *benchEpisodes)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode-row", func(b *testing.B) { // one line on one core: the index's work per byte
		var buf bytes.Buffer
		if err := rollout.EncodeTrajectory(&buf, benchTrajectory(3)); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			if _, _, err := decodeIndexRow(buf.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("index", func(b *testing.B) {
		b.SetBytes(st.Size())
		for b.Loop() {
			s, err := Open(context.Background(), []string{path}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if s.files[0].Episodes != *benchEpisodes {
				b.Fatalf("%d episodes", s.files[0].Episodes)
			}
			s.Close()
		}
	})
	s, err := Open(context.Background(), []string{path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	for _, c := range []struct{ name, path string }{
		{"table", "/f/0"},
		{"table-last-page", fmt.Sprintf("/f/0?page=%d", *benchEpisodes/DefaultPageSize)},
		{"table-sorted-filtered", "/f/0?sort=reward&order=desc&failed=no&task=task-1&min=0.25&page=3"},
		{"table-new-sort", ""}, // a sort not cached yet: the first request of each column
		{"episode", fmt.Sprintf("/f/0/e/%d", *benchEpisodes/2)},
		{"group", "/f/0/group?task=task-777"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p := c.path
				if p == "" {
					b.StopTimer()
					s.files[0].ix.orders = map[string][]int32{}
					b.StartTimer()
					p = "/f/0?sort=tokens&order=desc"
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", p, w.Code, w.Body)
				}
			}
		})
	}
}
