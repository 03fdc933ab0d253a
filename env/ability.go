package env

// StepLimiter is an optional ability of an Environment: it ends its
// episodes itself (truncated) after StepLimit steps. A rollout whose turn
// limit is not set by the user uses it instead of its default, so that the
// environment's own limit (a Gymnasium TimeLimit, say) is the one that
// applies. It is consulted after Setup.
type StepLimiter interface {
	// StepLimit is the most steps an episode takes; zero or less means
	// none is declared.
	StepLimit() int
}

// TaskFree is an optional ability of a Factory: its environments need no
// task (a game, a Gymnasium environment: the world is the task). A front end
// that would generate tasks (arithmetic prompts) when given none gives such
// environments empty tasks instead, with ids only.
type TaskFree interface {
	// TaskFree reports whether the environments need no task.
	TaskFree() bool
}
