package judge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// cache keeps judges' replies on disk, one file per request, named by the
// SHA-256 of everything that determines the verdict (see cacheKey). A file
// is written to a temporary name and renamed into place, so concurrent
// episodes and processes sharing the directory never see half a file, and
// the last writer of equal replies wins.
type cache struct{ dir string }

// openCache makes the cache directory dir if needed, and checks that it
// can write there (a verdict that cannot be cached fails its score).
func openCache(dir string) (*cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("judge cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("judge cache: %w; name a directory this process can write (params.cache or $%s)", err, EnvCache)
	}
	f.Close()
	os.Remove(f.Name())
	return &cache{dir: dir}, nil
}

// cacheKey identifies a request: the judge model, the sampling settings,
// the messages (the rendered template: task, reference, response,
// criteria, instructions) and how the reply is read.
type cacheKey struct {
	Version     int     `json:"v"`
	Model       string  `json:"model"`
	Temperature float64 `json:"temperature"`
	MaxTokens   int     `json:"max_tokens"`
	Prompt      string  `json:"prompt"`
	Read        string  `json:"read"` // "single", "rubric:NAMES" or "group:N"
	Scale       Scale   `json:"scale"`
}

// cacheEntry is a cached reply.
type cacheEntry struct {
	Key   cacheKey `json:"key"`
	Reply string   `json:"reply"`
}

// hash is the file name of k.
func (k cacheKey) hash() string {
	b, _ := json.Marshal(k) // plain fields: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (c *cache) path(h string) string { return filepath.Join(c.dir, h[:2], h+".json") }

// get returns the reply cached for k.
func (c *cache) get(k cacheKey) (string, bool) {
	b, err := os.ReadFile(c.path(k.hash()))
	if err != nil {
		return "", false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil {
		return "", false // a damaged entry is asked again, and rewritten
	}
	return e.Reply, true
}

// put stores reply for k.
func (c *cache) put(k cacheKey, reply string) error {
	p := c.path(k.hash())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("judge cache: %w", err)
	}
	b, err := json.Marshal(cacheEntry{Key: k, Reply: reply})
	if err != nil {
		return fmt.Errorf("judge cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("judge cache: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("judge cache: %w", err)
	}
	return nil
}
