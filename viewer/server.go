package viewer

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/retrain-rl/retrain/rollout"
)

//go:embed assets
var assets embed.FS

// DefaultPageSize is the number of episodes on a page of a run's table.
const DefaultPageSize = 50

// MaxPageSize bounds the page size a request may ask for.
const MaxPageSize = 500

// Options configure a Server. A nil *Options, or a zero field, means the
// field's default.
type Options struct {
	// Pass names the reward component whose value decides whether an
	// episode passes (report.TotalName for the total reward); empty picks
	// the first rollout-level component of the file's first scored
	// trajectory, else the total.
	Pass string
	// Threshold is the value from which an episode passes (default 1).
	Threshold *float64
	// PageSize is the default number of episodes on a page of a run's
	// table (default DefaultPageSize).
	PageSize int
	// Token, when the listener requires one (see internal/httpsec), is
	// added as ?token= to every link the pages make, so a browser that
	// opened the first page with it can follow them.
	Token string
	// Workers is how many goroutines decode a file while indexing it
	// (default GOMAXPROCS).
	Workers int
}

// Kind is what a file holds.
type Kind string

// Kinds of file.
const (
	// KindTrajectories: trajectories, one JSON object a line, as
	// retrain rollout writes them.
	KindTrajectories Kind = "trajectories"
	// KindTrainLog: a training log, the train.jsonl of retrain train.
	KindTrainLog Kind = "training log"
)

// File is one file a Server shows.
type File struct {
	// Path is the file's path as given to Open.
	Path string
	// Kind is what the file holds, told from its first line.
	Kind Kind
	// Episodes is the number of trajectories indexed (KindTrajectories).
	Episodes int

	f  *os.File   // open for reading lines on demand (KindTrajectories)
	ix *trajIndex // (KindTrajectories)
}

// Server serves the pages of a set of files. Its Handler is safe for
// concurrent use; the files stay open until Close.
type Server struct {
	files []*File
	o     Options
	pages map[string]*template.Template
}

// ErrUnknownFormat is returned by Open for a file that is neither a
// trajectory file nor a training log.
var ErrUnknownFormat = errors.New("neither trajectories (retrain rollout's output) nor a training log (retrain train's train.jsonl)")

// Open opens and indexes the files at paths: each is read once (its kind
// told from its first line; a trajectory file indexed, see the package
// doc), and served by the Server's Handler. A file that cannot be read or
// whose first line is of neither kind is an error naming it.
func Open(ctx context.Context, paths []string, opts *Options) (*Server, error) {
	s := &Server{}
	if opts != nil {
		s.o = *opts
	}
	if s.o.Threshold == nil {
		one := 1.0
		s.o.Threshold = &one
	}
	if s.o.PageSize <= 0 {
		s.o.PageSize = DefaultPageSize
	}
	s.o.PageSize = min(s.o.PageSize, MaxPageSize)
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	for _, p := range paths {
		f, err := s.open(ctx, p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, f)
	}
	return s, nil
}

// open opens and indexes one file.
func (s *Server) open(ctx context.Context, path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory: name the JSONL files in it", path)
	}
	kind, err := sniff(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	file := &File{Path: path, Kind: kind}
	if kind == KindTrainLog {
		f.Close()
		if _, err := readTrainFile(path); err != nil {
			return nil, err
		}
		return file, nil
	}
	ix, err := indexFile(ctx, f, path, indexOptions{pass: s.o.Pass, threshold: *s.o.Threshold, workers: s.o.Workers})
	if err != nil {
		f.Close()
		return nil, err
	}
	file.f, file.ix, file.Episodes = f, ix, len(ix.rows)
	return file, nil
}

// sniffLines is how many non-blank lines sniff reads at most.
const sniffLines = 5

// sniff tells the kind of a file from its first lines (the first that is
// a training log line or a trajectory decides, so a damaged first line does
// not hide a good file), and rewinds it.
func sniff(f *os.File) (Kind, error) {
	var kind Kind
	var firstErr error
	seen := 0
	for line, err := range rollout.ReadLines(f) {
		if err != nil {
			return "", err
		}
		seen++
		if isTrainLine(line.Data) {
			kind = KindTrainLog
			break
		}
		if _, _, err := decodeIndexRow(line.Data); err == nil {
			kind = KindTrajectories
			break
		} else if firstErr == nil {
			firstErr = fmt.Errorf("line %d is %w: %v", line.Number, ErrUnknownFormat, err)
		}
		if seen == sniffLines {
			break
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	switch {
	case kind != "":
		return kind, nil
	case firstErr != nil:
		return "", firstErr
	}
	return "", errors.New("the file is empty: nothing to show")
}

// readTrainFile reads the training log at path.
func readTrainFile(path string) (*TrainLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	log, err := ReadTrainLog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return log, nil
}

// Files returns the files the Server shows, in the order given to Open.
func (s *Server) Files() []*File { return s.files }

// Close closes the files. The Handler must not be used after.
func (s *Server) Close() error {
	var errs []error
	for _, f := range s.files {
		if f.f != nil {
			errs = append(errs, f.f.Close())
		}
	}
	return errors.Join(errs...)
}

// Handler returns the handler of the pages: / (the files), /f/N (a run's
// summary and table, or a training log's charts), /f/N/e/I (episode I),
// /f/N/group?task=ID (a task's group), /static/ and /health. Put it behind
// internal/httpsec like every listener.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /f/{n}", s.filePage)
	mux.HandleFunc("GET /f/{n}/e/{i}", s.episodePage)
	mux.HandleFunc("GET /f/{n}/group", s.groupPage)
	return headers(mux)
}

// headers sets the headers of every response: nothing but this server's
// own styles, no scripts, no framing, no referrer (links may carry the
// token).
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// parsePages parses the page templates, each with the layout.
func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(assets, "assets/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := filepath.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(assets, "assets/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// render writes page name with data.
func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "rendering the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// fail writes an error page: what was wrong and what to do.
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	var buf bytes.Buffer
	if err := s.pages["error"].ExecuteTemplate(&buf, "layout", &errorPage{page: s.page("Error"), Status: status, Message: msg}); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
