package main

// The built-in environments, tools and rewards (the judge) register themselves on import. Every
// command sees the same set; this is the one place that lists them.
import (
	_ "github.com/retrain-rl/retrain/bridge/gym"
	_ "github.com/retrain-rl/retrain/bridge/openenv"
	_ "github.com/retrain-rl/retrain/env/code"
	_ "github.com/retrain-rl/retrain/env/fstask"
	_ "github.com/retrain-rl/retrain/env/games"
	_ "github.com/retrain-rl/retrain/env/single"
	_ "github.com/retrain-rl/retrain/env/toolenv"
	_ "github.com/retrain-rl/retrain/proxy/harness"
	_ "github.com/retrain-rl/retrain/reward/codetest"
	_ "github.com/retrain-rl/retrain/reward/judge"
	_ "github.com/retrain-rl/retrain/tool/calculator"
	_ "github.com/retrain-rl/retrain/tool/python"
)
