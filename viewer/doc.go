// Package viewer serves rollouts and training runs to a browser: the
// summary and a sortable, filterable, paged table of the episodes of a
// trajectory file (retrain rollout's output), one episode turn by turn
// with its completion tokens coloured by log-probability, a task's group
// side by side with its rewards and advantages, and the charts of a
// training log (retrain train's train.jsonl). It is what `retrain view`
// runs.
//
// The pages are rendered by the server from templates embedded in the
// binary, with one embedded stylesheet: no script, no CDN, nothing fetched
// at run time. A trajectory file is read once when it is opened (its lines
// decoded on several workers into a small row each, and its report built);
// a page reads only the lines it shows, at their offsets, so files of
// 100,000 episodes and gigabytes serve pages in milliseconds. A training
// log is small and is read again on each request, so a page follows a
// run that is still training.
//
//	s, err := viewer.Open(ctx, []string{"rollouts.jsonl", "train.jsonl"}, nil)
//	if err != nil { ... }
//	defer s.Close()
//	h := httpsec.Handler(s.Handler(), &httpsec.Options{Public: []string{"/health"}})
//	err = httpserve.Serve(ctx, ln, h, nil)
//
// A client picks files and episodes by number and filters by value; it
// never names a path. The Handler sets a Content-Security-Policy that
// allows only the server's own stylesheet.
package viewer
