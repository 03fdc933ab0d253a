// Package reward scores trajectories: reward functions and their registry,
// verifiers, the [Calculator] that turns a whole rollout into per-turn
// rewards, and group advantages (GRPO, Dr. GRPO, RLOO).
//
// A reward function ([Func]) scores one [Sample]: a completion (one turn's
// output, or a rollout's final answer) with its task and trajectory. Reward
// functions are built by name from parameters through a [Registry]; the
// built-ins are math_equal, exact_match, numeric, format, tool_success,
// tool_used, length, regex, json_schema and composite. A [Verifier] is a
// named boolean check (has_answer, parses, no_tool_errors, max_length:N,
// max_tokens:N, terminated); when one attached to a component fails, the
// component scores its penalty instead.
//
// Scoring one answer:
//
//	f, err := reward.New("math_equal", nil)
//	s, err := f.Score(ctx, reward.Sample{
//		Task:       retrain.Task{Answer: "#### 1,234"},
//		Completion: `... so the total is \boxed{1234}.`,
//		Step:       -1,
//	})
//	fmt.Println(s.Value, s.Extracted) // 1 1234
//
// Scoring trajectories with a configuration:
//
//	cfg, err := reward.LoadConfig("rewards.yaml")
//	calc, err := reward.NewCalculator(cfg, nil) // nil: the Default registry
//	for _, t := range group {
//		if err := calc.Score(ctx, t); err != nil { ... }
//	}
//	calc.Advantages(group) // trajectories of one task
//
// with rewards.yaml such as
//
//	rollout:
//	  - name: correct
//	    reward: math_equal
//	    verifiers: [has_answer]
//	    penalty: -0.5
//	step:
//	  - name: format
//	    weight: 0.1
//	distribution: last_step
//	advantage: grpo
//
// # Decisions
//
// math_equal compares answers as mathematics: exact rational arithmetic when
// both sides are exact, floating point with a relative tolerance (param
// tolerance, default 1e-6) when a side involves sqrt, pi, functions or a
// decimal literal. A percentage "p%" equals both p and p/100, so GSM8K's
// gold "50" matches "50%" and "0.5" matches "50%"; "50" and "0.5" without a
// percent sign differ. A mixed number "2 1/2" or "2\frac{1}{2}" is 2.5.
// Sets "{1,2}" and bare lists "1, 2" compare unordered; tuples "(1,2)" and
// intervals "[0,1)" compare in order, brackets included. Free variables are
// compared by evaluating both sides at fixed points; "e" is Euler's number
// and "i" an ordinary variable. Several boxes joined only by commas or
// "and" ("\boxed{2} and \boxed{3}") are one list answer.
//
// The Calculator weighs the environment's step rewards by env_weight
// (default 1) and lists them under the component "env". A verifier's
// penalty and the error score replace the raw score, before the weight.
// Rollout components are spread over the turns by the distribution; a
// trajectory without turns has the rollout components as its total.
// tool_success scores 1 when no tool was called (param if_none); format
// scores 1 for a clean parse, 0.5 (param partial) for balanced tags, else 0;
// length scores inside (default 0) within [min, max], minus penalty (or
// penalty per unit outside with per_unit) beyond.
package reward
