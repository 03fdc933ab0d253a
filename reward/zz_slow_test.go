package reward

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZSlow(t *testing.T) {
	dir := os.Getenv("FUZZDIR")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		var args []string
		for _, l := range lines[1:] {
			l = strings.TrimSuffix(strings.TrimPrefix(l, "string("), ")")
			s, err := strconv.Unquote(l)
			if err != nil {
				t.Log("bad", l)
				continue
			}
			args = append(args, s)
		}
		start := time.Now()
		done := make(chan bool)
		go func() {
			if len(args) == 1 {
				a, err := parseAnswer(args[0])
				if err == nil {
					equalAnswers(a, a, 1e-6)
				}
				Equivalent(args[0], args[0], 0)
			} else {
				Equivalent(args[0], args[1], 0)
			}
			close(done)
		}()
		select {
		case <-done:
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Logf("%v %q", d, args)
			}
		case <-time.After(3 * time.Second):
			t.Errorf("HANG %q", args)
			return
		}
	}
}

func FuzzZZHang(f *testing.F) {
	for _, c := range mathCases {
		f.Add(normalizeAnswer(c.gold))
	}
	for _, s := range []string{"2^2^2^2^2", "9^9^9^9", "1000!", `\frac{1}{0}`, `\sqrt[0]{2}`, "((((((1))))))", "|1|2|", "x_", `\binom{5}{9}`, "1e400", "2^{-99999}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		timer := time.AfterFunc(2*time.Second, func() { panic("HANG " + strconv.Quote(s)) })
		defer timer.Stop()
		a, err := parseAnswer(s)
		if err != nil {
			return
		}
		_ = equalAnswers(a, a, DefaultTolerance)
	})
}
