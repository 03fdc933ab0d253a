package viewer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/report"
	"github.com/retrain-rl/retrain/rollout"
)

// funcs are the template functions.
var funcs = template.FuncMap{
	"num": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	},
	"f3":  func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) },
	"pct": func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" },
	"secs": func(v float64) string {
		if v < 1 {
			return strconv.FormatFloat(1000*v, 'f', 1, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'f', 2, 64) + " s"
	},
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
}

// page is what every page has: its title and the way to make links.
type page struct {
	Title string
	token string
}

func (s *Server) page(title string) page { return page{Title: title, token: s.o.Token} }

// Href returns the link to path (which may have a query), with the token
// when the server has one.
func (p page) Href(path string) string {
	if p.token == "" {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "token=" + url.QueryEscape(p.token)
}

// Token is the token, for the hidden field of the table's filter form.
func (p page) Token() string { return p.token }

type errorPage struct {
	page
	Status  int
	Message string
}

// fileView is a file on the home page.
type fileView struct {
	N    int
	Path string
	Kind Kind
	Run  *runSummary
	Log  *TrainLog
	Err  string
}

type homePage struct {
	page
	Files []fileView
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	p := &homePage{page: s.page("retrain view")}
	if len(s.files) == 1 { // nothing to choose: go to the file
		http.Redirect(w, r, p.Href("/f/0"), http.StatusFound)
		return
	}
	for n, f := range s.files {
		v := fileView{N: n, Path: f.Path, Kind: f.Kind}
		if f.ix != nil {
			v.Run = summarize(f.ix)
		} else if log, err := readTrainFile(f.Path); err != nil {
			v.Err = err.Error()
		} else {
			v.Log = log
		}
		p.Files = append(p.Files, v)
	}
	s.render(w, "home", p)
}

// file returns the file named by the request's {n}, or writes a 404.
func (s *Server) file(w http.ResponseWriter, r *http.Request) (int, *File, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(s.files) {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("there is no file %q: this server shows files 0 to %d (see the home page)", r.PathValue("n"), len(s.files)-1))
		return 0, nil, false
	}
	return n, s.files[n], true
}

// runSummary is the summary of a trajectory file.
type runSummary struct {
	*report.Report
	Size     int64
	Drift    int
	PassName string
	PassMin  float64
	Bad      []badLine
	BadCount int
	Cut      int
	Stops    []countOf
	Causes   []countOf
}

type countOf struct {
	Name  string
	Count int
}

func summarize(ix *trajIndex) *runSummary {
	rs := &runSummary{Report: ix.report, Size: ix.size, Drift: ix.drift, PassName: ix.pass, PassMin: ix.passMin,
		Bad: ix.bad, BadCount: ix.badCount, Cut: ix.cut}
	for _, k := range slices.Sorted(maps.Keys(ix.report.StopReasons)) {
		rs.Stops = append(rs.Stops, countOf{string(k), ix.report.StopReasons[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(ix.report.Failures)) {
		rs.Causes = append(rs.Causes, countOf{string(k), ix.report.Failures[k]})
	}
	return rs
}

// runPage is a trajectory file's summary and a page of its table.
type runPage struct {
	page
	N        int
	File     *File
	Sum      *runSummary
	Q        tableQuery
	Rows     []*episode
	Matched  int
	Pages    int
	Stops    []retrain.StopReason
	MinText  string
	MaxText  string
	query    url.Values
	filePath string
}

// SortHref links to the table sorted by key, descending when it already
// is ascending by it.
func (p *runPage) SortHref(key string) string {
	q := maps.Clone(p.query)
	q.Set("sort", key)
	q.Del("page")
	if p.Q.Sort == key && !p.Q.Desc {
		q.Set("order", "desc")
	} else {
		q.Del("order")
	}
	return p.Href(p.filePath + "?" + q.Encode())
}

// SortMark is the arrow after a sorted column's title.
func (p *runPage) SortMark(key string) string {
	if p.Q.Sort != key {
		return ""
	}
	if p.Q.Desc {
		return " ▼"
	}
	return " ▲"
}

// PageHref links to page n of the same table.
func (p *runPage) PageHref(n int) string {
	q := maps.Clone(p.query)
	q.Set("page", strconv.Itoa(n))
	return p.Href(p.filePath + "?" + q.Encode())
}

func (p *runPage) Prev() int { return p.Q.Page - 1 }
func (p *runPage) Next() int {
	if p.Q.Page >= p.Pages {
		return 0
	}
	return p.Q.Page + 1
}

// trainPage is a training log's charts.
type trainPage struct {
	page
	N      int
	File   *File
	Log    *TrainLog
	Charts []template.HTML
	Last   *StepLine
}

func (s *Server) filePage(w http.ResponseWriter, r *http.Request) {
	n, f, ok := s.file(w, r)
	if !ok {
		return
	}
	if f.Kind == KindTrainLog {
		s.trainPage(w, n, f)
		return
	}
	q, err := parseTableQuery(r.URL.Query(), s.o.PageSize)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	rows, matched := f.ix.query(&q)
	p := &runPage{page: s.page(f.Path), N: n, File: f, Sum: summarize(f.ix), Q: q, Rows: rows, Matched: matched,
		Pages: max(1, (matched+q.Per-1)/q.Per), Stops: f.ix.stopReasons(), query: r.URL.Query(), filePath: fmt.Sprintf("/f/%d", n)}
	if q.Min != nil {
		p.MinText = strconv.FormatFloat(*q.Min, 'g', -1, 64)
	}
	if q.Max != nil {
		p.MaxText = strconv.FormatFloat(*q.Max, 'g', -1, 64)
	}
	s.render(w, "run", p)
}

func (s *Server) trainPage(w http.ResponseWriter, n int, f *File) {
	log, err := readTrainFile(f.Path) // read again: the trainer may still be writing it
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	p := &trainPage{page: s.page(f.Path), N: n, File: f, Log: log}
	if len(log.Steps) > 0 {
		p.Last = &log.Steps[len(log.Steps)-1]
	}
	metric := func(get func(*StepLine) float64) []point {
		ps := make([]point, len(log.Steps))
		for i := range log.Steps {
			ps[i] = point{log.Steps[i].Step, get(&log.Steps[i])}
		}
		return ps
	}
	accuracy := []series{{Name: "train", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.Accuracy })}}
	splits := map[string][]point{}
	var order []string
	for _, e := range log.Evals {
		if _, ok := splits[e.Split]; !ok {
			order = append(order, e.Split)
		}
		splits[e.Split] = append(splits[e.Split], point{e.Step, e.Accuracy})
	}
	for i, sp := range order {
		accuracy = append(accuracy, series{Name: "eval " + cmp.Or(sp, "(no split)"), Class: fmt.Sprintf("s%d", 1+i%4), Points: splits[sp]})
	}
	p.Charts = []template.HTML{
		drawChart("chart-reward", "reward", []series{{Name: "reward", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.Reward })}}),
		drawChart("chart-accuracy", "accuracy", accuracy),
		drawChart("chart-kl", "KL", []series{{Name: "kl", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.KL })}}),
		drawChart("chart-clip", "clip fraction", []series{{Name: "clip_fraction", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.ClipFraction })}}),
		drawChart("chart-parse", "parse rate", []series{{Name: "parse_rate", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.ParseRate })}}),
		drawChart("chart-loss", "loss", []series{{Name: "loss", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.Loss })}}),
		drawChart("chart-zero-var", "zero-variance groups", []series{{Name: "zero_variance_groups", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.ZeroVarianceGroups })}}),
		drawChart("chart-tps", "tokens/s", []series{{Name: "tokens_per_s", Class: "s0", Points: metric(func(l *StepLine) float64 { return l.TokensPerS })}}),
	}
	s.render(w, "train", p)
}

// readEpisode reads and decodes the trajectory of row e of f.
func readEpisode(f *File, e *episode) (*retrain.Trajectory, error) {
	buf := make([]byte, e.size)
	if _, err := f.f.ReadAt(buf, e.off); errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d of %s is gone: the file changed since it was indexed; restart retrain view", e.Line, f.Path)
	} else if err != nil {
		return nil, fmt.Errorf("read line %d of %s: %w", e.Line, f.Path, err)
	}
	t, err := rollout.DecodeTrajectory(buf)
	if err != nil {
		return nil, fmt.Errorf("line %d of %s changed since it was indexed (%v): restart retrain view", e.Line, f.Path, err)
	}
	return t, nil
}

// episodePage is one episode.
type episodePage struct {
	page
	N        int
	File     *File
	Row      *episode
	T        *retrain.Trajectory
	Messages []messageView
	Rollout  []compView
	Prev     int // row index, or -1
	Next     int
	Seed     string
	Reset    string
	TaskMeta string
	Sampling string
}

// messageView is one message of the conversation, with its turn when it is
// an assistant turn's reply.
type messageView struct {
	Index int
	retrain.Message
	Turn *turnView
}

// turnView is one assistant turn.
type turnView struct {
	Index   int
	T       *retrain.Turn
	Tokens  []tokenView
	HasLP   bool
	Calls   []callView
	Reward  *retrain.TurnReward
	Comps   []compView
	Info    string
	Drift   bool
	Matched bool // prefix_match true
	MeanLP  float64
	MinLP   float64
}

type callView struct {
	Name string
	Args string
}

type compView struct {
	Name  string
	Value float64
}

// tokenView is one completion token of the heat map.
type tokenView struct {
	Text  string
	LP    string // the exact log-prob, as written in the file; "" when none
	P     string // its probability, rounded
	Class string // h0 (sure) … h5 (unsure)
}

// heatClass buckets a log-prob by its probability.
func heatClass(lp float64) string {
	p := math.Exp(lp)
	switch {
	case p >= 0.9:
		return "h0"
	case p >= 0.7:
		return "h1"
	case p >= 0.5:
		return "h2"
	case p >= 0.3:
		return "h3"
	case p >= 0.1:
		return "h4"
	}
	return "h5"
}

// row returns the row named by the request's {i}, or writes a 404.
func (s *Server) row(w http.ResponseWriter, r *http.Request, f *File) (*episode, bool) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(f.ix.rows) {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("there is no episode %q in %s: it has episodes 0 to %d", r.PathValue("i"), f.Path, len(f.ix.rows)-1))
		return nil, false
	}
	return &f.ix.rows[i], true
}

func (s *Server) episodePage(w http.ResponseWriter, r *http.Request) {
	n, f, ok := s.file(w, r)
	if !ok {
		return
	}
	if f.ix == nil {
		s.fail(w, http.StatusNotFound, f.Path+" is a training log: it has no episodes")
		return
	}
	e, ok := s.row(w, r, f)
	if !ok {
		return
	}
	t, err := readEpisode(f, e)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	p := &episodePage{page: s.page(t.ID), N: n, File: f, Row: e, T: t, Prev: e.Index - 1, Next: e.Index + 1,
		Reset: prettyJSON(t.ResetInfo), TaskMeta: prettyJSON(t.Task.Metadata), Sampling: prettyJSON(t.Sampling)}
	if p.Next >= len(f.ix.rows) {
		p.Next = -1
	}
	if t.Seed != nil {
		p.Seed = strconv.FormatInt(*t.Seed, 10)
	}
	if t.Rewards != nil {
		p.Rollout = comps(t.Rewards.Rollout)
	}
	turnAt := map[int]int{} // message index → turn index
	for i := range t.Turns {
		turnAt[t.Turns[i].PromptMessages] = i
	}
	shown := make([]bool, len(t.Turns))
	for k, m := range t.Messages {
		mv := messageView{Index: k, Message: m}
		if i, ok := turnAt[k]; ok && m.Role == retrain.RoleAssistant {
			mv.Turn, shown[i] = viewTurn(t, i), true
		}
		p.Messages = append(p.Messages, mv)
	}
	for i := range t.Turns { // a turn whose reply is not in the messages (a trajectory written elsewhere)
		if !shown[i] {
			p.Messages = append(p.Messages, messageView{Index: -1, Message: retrain.Message{Role: retrain.RoleAssistant}, Turn: viewTurn(t, i)})
		}
	}
	s.render(w, "episode", p)
}

// viewTurn makes the view of turn i of t.
func viewTurn(t *retrain.Trajectory, i int) *turnView {
	turn := &t.Turns[i]
	v := &turnView{Index: i, T: turn, Info: prettyJSON(turn.Info)}
	if pm := turn.PrefixMatch; pm != nil {
		v.Drift, v.Matched = !*pm, *pm
	}
	if tk := turn.Action.Tokens; tk != nil && len(tk.Text) > 0 {
		v.HasLP = len(tk.Logprobs) == len(tk.Text)
		sum := 0.0
		v.MinLP = math.Inf(1)
		for j, text := range tk.Text {
			tv := tokenView{Text: text}
			if v.HasLP {
				lp := tk.Logprobs[j]
				tv.LP = strconv.FormatFloat(lp, 'g', -1, 64)
				tv.P = strconv.FormatFloat(math.Exp(lp), 'f', 3, 64)
				tv.Class = heatClass(lp)
				sum += lp
				v.MinLP = min(v.MinLP, lp)
			}
			v.Tokens = append(v.Tokens, tv)
		}
		if v.HasLP {
			v.MeanLP = sum / float64(len(tk.Text))
		}
	}
	for _, c := range turn.Action.ToolCalls {
		v.Calls = append(v.Calls, callView{Name: c.Name, Args: prettyRaw(c.Arguments)})
	}
	if t.Rewards != nil && i < len(t.Rewards.Turns) {
		v.Reward = &t.Rewards.Turns[i]
		v.Comps = comps(v.Reward.Components)
	}
	return v
}

// comps lists components by name.
func comps(m map[string]float64) []compView {
	var cs []compView
	for _, k := range slices.Sorted(maps.Keys(m)) {
		cs = append(cs, compView{k, m[k]})
	}
	return cs
}

// prettyJSON indents v as JSON; "" for an empty value.
func prettyJSON[T any](v T) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil || string(b) == "null" || string(b) == "{}" {
		return ""
	}
	return string(b)
}

// prettyRaw indents a JSON value, or returns it as it is.
func prettyRaw(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// groupPage is one task's samples side by side.
type groupPage struct {
	page
	N       int
	File    *File
	Task    string
	Prompt  string
	Answer  string
	Samples []sampleView
	Comps   []string // component names, the columns of the rewards table
	Mean    float64
	Std     float64
	Scored  int
	ZeroVar bool
}

type sampleView struct {
	Row    *episode
	T      *retrain.Trajectory
	Values map[string]float64 // component values of the episode
	Final  string             // the last assistant message
}

// Value returns the sample's value of component name, and whether it has one.
func (v sampleView) Value(name string) string {
	x, ok := v.Values[name]
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func (s *Server) groupPage(w http.ResponseWriter, r *http.Request) {
	n, f, ok := s.file(w, r)
	if !ok {
		return
	}
	if f.ix == nil {
		s.fail(w, http.StatusNotFound, f.Path+" is a training log: it has no groups")
		return
	}
	task := r.URL.Query().Get("task")
	rows, ok := f.ix.groups[task]
	if !ok {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("%s has no episodes of task %q: pick a task from the table", f.Path, task))
		return
	}
	p := &groupPage{page: s.page("group " + task), N: n, File: f, Task: task}
	names := map[string]bool{}
	var totals []float64
	for _, i := range rows {
		e := &f.ix.rows[i]
		t, err := readEpisode(f, e)
		if err != nil {
			s.fail(w, http.StatusInternalServerError, err.Error())
			return
		}
		if p.Prompt == "" {
			p.Prompt, p.Answer = t.Task.Prompt, t.Task.Answer
		}
		sv := sampleView{Row: e, T: t, Values: map[string]float64{}}
		if rw := t.Rewards; rw != nil && !t.Failed() {
			for k, v := range rw.Rollout {
				sv.Values[k] = v
			}
			for _, tr := range rw.Turns {
				for k, v := range tr.Components {
					if _, ok := rw.Rollout[k]; !ok {
						sv.Values[k] += v
					}
				}
			}
			totals = append(totals, rw.Total)
		}
		for k := range sv.Values {
			names[k] = true
		}
		for k := len(t.Messages) - 1; k >= 0; k-- {
			if t.Messages[k].Role == retrain.RoleAssistant {
				sv.Final = t.Messages[k].Content
				break
			}
		}
		p.Samples = append(p.Samples, sv)
	}
	p.Comps = slices.Sorted(maps.Keys(names))
	p.Scored = len(totals)
	if len(totals) > 0 {
		for _, v := range totals {
			p.Mean += v
		}
		p.Mean /= float64(len(totals))
		for _, v := range totals {
			p.Std += (v - p.Mean) * (v - p.Mean)
		}
		p.Std = math.Sqrt(p.Std / float64(len(totals)))
		p.ZeroVar = len(totals) > 1 && p.Std == 0
	}
	s.render(w, "group", p)
}
