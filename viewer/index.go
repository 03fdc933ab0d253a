package viewer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	fastjson "github.com/segmentio/encoding/json"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/report"
)

// episode is one row of a trajectory file's table: what the table shows,
// sorts and filters on, and where the line is in the file. The rest of the
// trajectory is read from the file when a page needs it.
type episode struct {
	Index   int   // position in the file's rows, from 0
	Line    int   // line number in the file, from 1
	off     int64 // the line's offset in the file
	size    int   // the line's length, without its line ending
	ID      string
	Task    string
	Sample  int
	Scored  bool    // the trajectory has rewards and did not fail
	Reward  float64 // Rewards.Total when Scored
	HasAdv  bool
	Adv     float64 // Rewards.Advantage when HasAdv
	Pass    bool    // the pass component reached the threshold
	Stop    retrain.StopReason
	Failed  bool
	Cause   retrain.ErrorCause
	Error   string // the first line of Error, cut short
	Drift   bool   // template drift: some turn's prefix_match is false
	Turns   int
	Tokens  int // completion tokens
	Seconds float64

	values map[string]float64 // component values (as package report counts them), until the pass is decided
}

// badLine is a line of a trajectory file that is not a trajectory.
type badLine struct {
	Line int
	Err  string
}

// trajIndex is the index of one trajectory file: a row per trajectory, in
// file order, and the report of the whole file. It does not change after
// indexFile returns, but for the sorted orders cached in orders.
type trajIndex struct {
	rows     []episode
	groups   map[string][]int // task id → row indexes, in file order
	report   *report.Report
	pass     string  // the component deciding a pass ("" none)
	passMin  float64 // its threshold
	drift    int     // rows with template drift
	bad      []badLine
	badCount int
	cut      int // the number of a last line cut short and skipped, or 0
	size     int64

	mu     sync.Mutex
	orders map[string][]int32 // sort key → row indexes in that order
}

// maxBadLines bounds the bad lines kept to show; all are counted.
const maxBadLines = 20

// chunkSize is how much of the file one indexing worker decodes at a time
// (a variable for the tests).
var chunkSize = 4 << 20

// indexRow is what indexing decodes of a trajectory line: the fields the
// table and the report need. Fields it does not name (messages, tokens)
// are skipped by the decoder without being built. It is decoded with
// github.com/segmentio/encoding/json, a drop-in for encoding/json already
// in the binary (the MCP SDK's), which skips them about ten times faster.
type indexRow struct {
	Type   *string `json:"type"` // set on a training log line, never on a trajectory
	ID     string  `json:"id"`
	Sample *int    `json:"sample"`
	Task   struct {
		ID string `json:"id"`
	} `json:"task"`
	StopReason       retrain.StopReason `json:"stop_reason"`
	Error            string             `json:"error"`
	ErrorCause       retrain.ErrorCause `json:"error_cause"`
	PromptTokens     int                `json:"prompt_tokens"`
	CompletionTokens int                `json:"completion_tokens"`
	TemplateDrift    bool               `json:"template_drift"`
	Timings          retrain.Timings    `json:"timings"`
	Rewards          *retrain.Rewards   `json:"rewards"`
	Turns            []struct {
		PrefixMatch *bool `json:"prefix_match"`
		Action      struct {
			ParseError string     `json:"parse_error"`
			ToolCalls  []struct{} `json:"tool_calls"`
		} `json:"action"`
		Observation struct {
			ToolResults []struct {
				Success bool `json:"success"`
			} `json:"tool_results"`
		} `json:"observation"`
	} `json:"turns"`
}

// decodeIndexRow decodes one line into a row and the light trajectory the
// report builder reads (turn counts, parse errors, tool calls, rewards).
func decodeIndexRow(data []byte) (episode, *retrain.Trajectory, error) {
	if d := bytes.TrimLeft(data, " \t"); len(d) > 0 && d[0] != '{' {
		return episode{}, nil, errors.New("not a JSON object")
	}
	var r indexRow
	if err := fastjson.Unmarshal(data, &r); err != nil {
		return episode{}, nil, err
	}
	switch {
	case r.Type != nil:
		return episode{}, nil, fmt.Errorf("a %q line of a training log, not a trajectory", *r.Type)
	case r.ID == "":
		return episode{}, nil, errors.New(`no "id": not a trajectory`)
	case r.Sample == nil:
		return episode{}, nil, errors.New(`no "sample": not a trajectory`)
	}
	e := episode{
		ID: r.ID, Task: r.Task.ID, Sample: *r.Sample,
		Stop: r.StopReason, Failed: r.Error != "", Cause: r.ErrorCause,
		Drift: r.TemplateDrift, Turns: len(r.Turns), Tokens: r.CompletionTokens,
		Seconds: r.Timings.Total,
	}
	if e.Failed {
		e.Error = firstLine(r.Error, 160)
		if e.Cause == "" {
			e.Cause = retrain.CauseUnknown
		}
	}
	t := &retrain.Trajectory{
		ID: r.ID, Task: retrain.Task{ID: r.Task.ID}, Sample: *r.Sample,
		StopReason: r.StopReason, Error: r.Error, ErrorCause: r.ErrorCause,
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		Rewards: r.Rewards, Turns: make([]retrain.Turn, len(r.Turns)),
	}
	for i, turn := range r.Turns {
		if turn.PrefixMatch != nil && !*turn.PrefixMatch {
			e.Drift = true
		}
		t.Turns[i].Action.ParseError = turn.Action.ParseError
		t.Turns[i].Action.ToolCalls = make([]retrain.ToolCall, len(turn.Action.ToolCalls))
		for _, res := range turn.Observation.ToolResults {
			t.Turns[i].Observation.ToolResults = append(t.Turns[i].Observation.ToolResults, retrain.ToolResult{Success: res.Success})
		}
	}
	if rw := r.Rewards; rw != nil && !e.Failed {
		e.Scored, e.Reward = true, rw.Total
		if rw.Advantage != nil {
			e.HasAdv, e.Adv = true, *rw.Advantage
		}
		e.values = make(map[string]float64, len(rw.Rollout)+2)
		for name, v := range rw.Rollout {
			e.values[name] = v
		}
		for _, tr := range rw.Turns {
			for name, v := range tr.Components {
				if _, ok := rw.Rollout[name]; !ok {
					e.values[name] += v
				}
			}
		}
	}
	return e, t, nil
}

// safeDecodeIndexRow is decodeIndexRow with a panic of the decoder turned
// into an error about the line, so that one odd line cannot take the
// server down.
func safeDecodeIndexRow(data []byte) (e episode, t *retrain.Trajectory, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the line could not be decoded (the decoder panicked: %v)", p)
		}
	}()
	return decodeIndexRow(data)
}

// firstLine returns the first line of s, cut to at most n bytes (at a
// character boundary).
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// chunk is a run of whole lines of the file.
type chunk struct {
	seq  int
	off  int64
	data []byte
	last bool // the file's end: its last line may have no newline
}

// chunkResult is what a worker made of a chunk.
type chunkResult struct {
	seq   int
	rows  []episode // Line counted from the chunk's start
	trajs []*retrain.Trajectory
	lines int // lines in the chunk, blank ones counted
	bad   []badLine
	cut   int // local number of an unterminated last line that did not decode
}

// indexOptions configure indexFile.
type indexOptions struct {
	pass      string // the component deciding a pass; "" picks one
	threshold float64
	workers   int // 0: GOMAXPROCS
}

// indexFile reads the trajectory file f once, decoding its lines on
// several workers, and returns its index. name names it in errors.
func indexFile(ctx context.Context, f *os.File, name string, o indexOptions) (*trajIndex, error) {
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	chunks := make(chan chunk, workers)
	free := make(chan []byte, 2*workers+1) // chunk buffers decoded, to read into again
	results := make(chan chunkResult, workers)
	var readErr error
	var size int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reader: whole lines, in chunks
		defer wg.Done()
		defer close(chunks)
		size, readErr = readChunks(ctx, f, chunks, free)
	}()
	var workersWG sync.WaitGroup
	for range workers {
		workersWG.Add(1)
		go func() {
			defer workersWG.Done()
			for c := range chunks {
				res := decodeChunk(c) // copies what it keeps: the buffer may be reused
				select {
				case free <- c.data[:0]:
				default:
				}
				select {
				case results <- res:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() { workersWG.Wait(); close(results) }()

	// The collector: results in file order, into the rows and the report.
	ix := &trajIndex{groups: map[string][]int{}, orders: map[string][]int32{}, pass: o.pass, passMin: o.threshold}
	var b *report.Builder             // made once the pass is known
	var waiting []*retrain.Trajectory // added to b once it is made
	pending := map[int]chunkResult{}
	next, lines := 0, 0
	for res := range results {
		pending[res.seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for i := range r.rows {
				e := r.rows[i]
				e.Line += lines
				e.Index = len(ix.rows)
				ix.groups[e.Task] = append(ix.groups[e.Task], e.Index)
				if e.Drift {
					ix.drift++
				}
				if b == nil && (ix.pass != "" || e.Scored) {
					if ix.pass == "" {
						ix.pass = firstRolloutComponent(r.trajs[i].Rewards)
					}
					b = report.NewBuilder(&report.Options{Pass: ix.pass, Threshold: &ix.passMin})
					for _, t := range waiting {
						b.Add(t)
					}
					waiting = nil
				}
				if b != nil {
					b.Add(r.trajs[i])
				} else {
					waiting = append(waiting, r.trajs[i])
				}
				ix.markPass(&e)
				ix.rows = append(ix.rows, e)
			}
			for _, bl := range r.bad {
				ix.badCount++
				if len(ix.bad) < maxBadLines {
					ix.bad = append(ix.bad, badLine{Line: bl.Line + lines, Err: bl.Err})
				}
			}
			if r.cut > 0 {
				ix.cut = r.cut + lines
			}
			lines += r.lines
		}
	}
	wg.Wait()
	if readErr != nil {
		return nil, fmt.Errorf("read %s: %w", name, readErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix.size = size
	if b == nil {
		b = report.NewBuilder(nil)
		for _, t := range waiting {
			b.Add(t)
		}
	}
	ix.report = b.Report()
	return ix, nil
}

// readChunks sends the file's lines to out in chunks that end at a line
// end (the last at the file's end), and returns the file's size. It reads
// into buffers from free when there are some (decoded chunks' buffers),
// else new ones.
func readChunks(ctx context.Context, f io.Reader, out chan<- chunk, free <-chan []byte) (int64, error) {
	var carry []byte // the start of a line the last chunk cut
	var off int64
	for seq := 0; ; {
		size := len(carry) + max(chunkSize, len(carry))
		var buf []byte
		select {
		case b := <-free:
			buf = b
		default:
		}
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		copy(buf, carry)
		n, err := io.ReadFull(f, buf[len(carry):])
		data := buf[:len(carry)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return off, err
		}
		c := chunk{seq: seq, off: off, data: data, last: eof}
		if !eof {
			i := bytes.LastIndexByte(data, '\n')
			if i < 0 { // one line longer than the buffer: read on
				carry = bytes.Clone(data)
				continue
			}
			c.data, carry = data[:i+1], bytes.Clone(data[i+1:])
		}
		if len(c.data) > 0 {
			select {
			case out <- c:
			case <-ctx.Done():
				return off, ctx.Err()
			}
			seq++
		}
		off += int64(len(c.data))
		if eof {
			return off, nil
		}
	}
}

// decodeChunk decodes the lines of c.
func decodeChunk(c chunk) chunkResult {
	res := chunkResult{seq: c.seq}
	data := c.data
	pos := 0
	for pos < len(data) {
		end := bytes.IndexByte(data[pos:], '\n')
		terminated := end >= 0
		if !terminated {
			end = len(data) - pos
		}
		res.lines++
		line := data[pos : pos+end]
		lineOff := c.off + int64(pos)
		pos += end + 1
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, t, err := safeDecodeIndexRow(line)
		if err != nil {
			if !terminated && c.last {
				res.cut = res.lines // a last line cut short by a killed writer
				continue
			}
			res.bad = append(res.bad, badLine{Line: res.lines, Err: err.Error()})
			continue
		}
		e.Line, e.off, e.size = res.lines, lineOff, len(line)
		res.rows = append(res.rows, e)
		res.trajs = append(res.trajs, t)
	}
	return res
}

// firstRolloutComponent returns the first name, in order, of the
// rollout-level components of rw, "total" when it has none.
func firstRolloutComponent(rw *retrain.Rewards) string {
	if rw == nil || len(rw.Rollout) == 0 {
		return report.TotalName
	}
	return slices.Min(slices.Collect(maps.Keys(rw.Rollout)))
}

// markPass sets e.Pass from its value of the pass component, and drops the
// values.
func (ix *trajIndex) markPass(e *episode) {
	if e.Scored && ix.pass != "" {
		v, ok := e.values[ix.pass]
		if ix.pass == report.TotalName {
			v, ok = e.Reward, true
		}
		e.Pass = ok && v >= ix.passMin
	}
	e.values = nil
}
