package viewer

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
)

// tableQuery is what a request asks of a run's table: filters, order and
// page, read from the URL's query.
type tableQuery struct {
	Task   string // a substring of the task id or episode id
	Stop   string // a stop reason, exactly
	Failed string // "", "yes" or "no"
	Drift  bool
	Pass   string   // "", "yes" or "no"
	Min    *float64 // the reward at least this
	Max    *float64 // the reward at most this
	Sort   string   // a column of sortKeys
	Desc   bool
	Page   int // from 1
	Per    int
}

// sortKeys are the columns a table sorts on.
var sortKeys = map[string]func(a, b *episode) int{
	"line": func(a, b *episode) int { return cmp.Compare(a.Line, b.Line) },
	"id":   func(a, b *episode) int { return strings.Compare(a.ID, b.ID) },
	"task": func(a, b *episode) int {
		return cmp.Or(strings.Compare(a.Task, b.Task), cmp.Compare(a.Sample, b.Sample))
	},
	"reward": func(a, b *episode) int { return cmpOpt(a.Scored, a.Reward, b.Scored, b.Reward) },
	"adv":    func(a, b *episode) int { return cmpOpt(a.HasAdv, a.Adv, b.HasAdv, b.Adv) },
	"turns":  func(a, b *episode) int { return cmp.Compare(a.Turns, b.Turns) },
	"tokens": func(a, b *episode) int { return cmp.Compare(a.Tokens, b.Tokens) },
	"time":   func(a, b *episode) int { return cmp.Compare(a.Seconds, b.Seconds) },
	"stop":   func(a, b *episode) int { return strings.Compare(string(a.Stop), string(b.Stop)) },
}

// cmpOpt orders missing values first.
func cmpOpt(aok bool, a float64, bok bool, b float64) int {
	if aok != bok {
		if aok {
			return 1
		}
		return -1
	}
	return cmp.Compare(a, b)
}

// parseTableQuery reads q, and says what is wrong with a value it cannot use.
func parseTableQuery(q url.Values, per int) (tableQuery, error) {
	t := tableQuery{
		Task: q.Get("task"), Stop: q.Get("stop"), Failed: q.Get("failed"), Pass: q.Get("pass"),
		Sort: cmp.Or(q.Get("sort"), "line"), Desc: q.Get("order") == "desc", Page: 1, Per: per,
	}
	switch q.Get("drift") {
	case "", "0", "no":
	case "1", "yes", "on":
		t.Drift = true
	default:
		return t, fmt.Errorf("drift=%q: use drift=1 for the episodes with template drift", q.Get("drift"))
	}
	if _, ok := sortKeys[t.Sort]; !ok {
		return t, fmt.Errorf("sort=%q is not a column: use one of %s", t.Sort, strings.Join(slices.Sorted(maps.Keys(sortKeys)), ", "))
	}
	if o := q.Get("order"); o != "" && o != "asc" && o != "desc" {
		return t, fmt.Errorf("order=%q: use asc or desc", o)
	}
	for _, yn := range []struct{ name, v string }{{"failed", t.Failed}, {"pass", t.Pass}} {
		if yn.v != "" && yn.v != "yes" && yn.v != "no" {
			return t, fmt.Errorf("%s=%q: use yes, no or nothing", yn.name, yn.v)
		}
	}
	for _, b := range []struct {
		name string
		dst  **float64
	}{{"min", &t.Min}, {"max", &t.Max}} {
		s := strings.TrimSpace(q.Get(b.name))
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) {
			return t, fmt.Errorf("%s=%q is not a number: write the reward bound as e.g. 0.5", b.name, s)
		}
		*b.dst = &v
	}
	for _, n := range []struct {
		name   string
		dst    *int
		lo, hi int
	}{{"page", &t.Page, 1, math.MaxInt32}, {"per", &t.Per, 1, MaxPageSize}} {
		s := q.Get(n.name)
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < n.lo || v > n.hi {
			return t, fmt.Errorf("%s=%q: it must be a whole number from %d to %d", n.name, s, n.lo, n.hi)
		}
		*n.dst = v
	}
	return t, nil
}

// match reports whether e passes the query's filters.
func (t *tableQuery) match(e *episode) bool {
	switch {
	case t.Task != "" && !strings.Contains(e.Task, t.Task) && !strings.Contains(e.ID, t.Task),
		t.Stop != "" && string(e.Stop) != t.Stop,
		t.Failed == "yes" && !e.Failed, t.Failed == "no" && e.Failed,
		t.Pass == "yes" && !e.Pass, t.Pass == "no" && e.Pass,
		t.Drift && !e.Drift,
		t.Min != nil && (!e.Scored || e.Reward < *t.Min),
		t.Max != nil && (!e.Scored || e.Reward > *t.Max):
		return false
	}
	return true
}

// order returns the rows' indexes sorted by key, descending when desc,
// rows of equal keys in file order. Each order is computed once.
func (ix *trajIndex) order(key string, desc bool) []int32 {
	name := key
	if desc {
		name += " desc"
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if o, ok := ix.orders[name]; ok {
		return o
	}
	o := make([]int32, len(ix.rows))
	for i := range o {
		o[i] = int32(i)
	}
	if key != "line" || desc {
		c := sortKeys[key]
		sign := 1
		if desc {
			sign = -1
		}
		slices.SortStableFunc(o, func(a, b int32) int { return sign * c(&ix.rows[a], &ix.rows[b]) })
	}
	ix.orders[name] = o
	return o
}

// query returns the page of rows t asks for, and how many rows match.
func (ix *trajIndex) query(t *tableQuery) (page []*episode, matched int) {
	from := (t.Page - 1) * t.Per
	for _, i := range ix.order(t.Sort, t.Desc) {
		e := &ix.rows[i]
		if !t.match(e) {
			continue
		}
		if matched >= from && len(page) < t.Per {
			page = append(page, e)
		}
		matched++
	}
	return page, matched
}

// stopReasons returns the stop reasons of the file, sorted.
func (ix *trajIndex) stopReasons() []retrain.StopReason {
	return slices.Sorted(maps.Keys(ix.report.StopReasons))
}
