// Package reward scores trajectories: reward functions and their registry,
// verifiers, the [Calculator] that turns a whole rollout into per-turn
// rewards, and group advantages (GRPO, Dr. GRPO, RLOO).
//
// A reward function ([Func]) scores one [Sample]: a completion (one turn's
// output, or a rollout's final answer) with its task and trajectory. Reward
// functions are built by name from parameters through a [Registry]; the
// built-ins are math_equal, exact_match, numeric, format, tool_success,
// tool_used, length, regex, json_schema and composite; package reward/judge
// adds judge (a model scores against criteria or a rubric), registered in
// [Default] when imported. A [Verifier] is a
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
// decimal literal, so 2\pi equals 6.2831853 but not 6.28. A percentage "p%"
// equals both p and p/100, so GSM8K's gold "50" matches "50%" and "0.5"
// matches "50%" (and 10\% equals 0.1); "50" and "0.5" without a percent
// sign differ. A mixed number "2 1/2" or "2\frac{1}{2}" is 2.5; "0.\overline{3}"
// is 1/3; "1.5 million" is 1500000; "twenty-one" is 21 and "3rd" is 3.
// Sets "{1,2}" and bare lists "1, 2" are the same thing and compare
// unordered, element for element (a repeated element counts twice); a
// "\pm" inside one stands for both its elements. Tuples "(1,2)" and
// intervals "[0,1)" compare in order, brackets included, so (1,2) is not
// [1,2]. An inequality in one variable is the interval it describes
// ("-2 \le x < 7" is [-2,7), "x > 3" is (3,\infty)); \mathbb{R} and "all
// real numbers" are (-\infty,\infty); \varnothing and \{\} are \emptyset. A
// matrix of one row or column equals the tuple of its entries in ( ) or
// [ ]. "x = 5", "f(x) = 2x+1", "a_n = 2n+1", "x \in [2,5]" and "2+3=5" are
// compared by the part after the last relation: the left side of "=" names
// the value (a variable, perhaps with a subscript or arguments whose
// variables are the only ones the value may use) or is a number too. Any
// other equation ("a + 3z = 0", "7 = 11a+c", "y = 2x+1") equals only an
// equation, never one of its sides: two equations are equal when their
// sides' differences are proportional by a nonzero constant ("y = -x/2 + 3"
// and "x + 2y = 6", "a = b" and "b = a"), so a policy cannot score by
// giving a side. In "\frac13 \approx 0.33" the exact part counts too. Free variables are
// compared by evaluating both sides at fixed points, positive and negative
// (so x is not |x|); "e" is Euler's number and "i" an ordinary variable;
// "xy" is x times y and "\sin 2x" is sin(2x). Units are dropped: words and
// \text{} units ("5 \text{ cm}", "10 dollars"), degree signs (30^\circ is
// 30), currency signs, and a one-letter unit (m, s, g, h, l) beside a
// number when the other side is a plain number. A reference that is a
// choice letter, "(C)" or "C", is matched by a prediction that starts with
// it ("(C) 12", "C)", "C. 12"), not by another letter; a reference "(B) 12"
// is matched by B or by 12. Text answers compare without case, spaces,
// \text{} or a final period ("\text{Monday}" is "monday."). Several boxes
// joined only by commas or "and" ("\boxed{2} and \boxed{3}") are one list
// answer.
//
// exact_match compares text, not mathematics ("18" is not "18.0"), after
// removing markup: \boxed{}, math delimiters, \text{} and its kin, markdown
// emphasis and one final period. numeric reads each side as one number
// (units, percent and number words as above).
//
// Answer extraction prefers the text after </think>, and stops before a new
// few-shot turn ("\n\nQuestion: …") that follows an explicit answer. After
// the explicit forms, a short line that starts with a choice letter ("(B)
// 12") or is a ratio or time ("3:1") is taken whole; the last-math and
// last-number fallbacks skip a closing remark ("160 minutes (2 hours 40
// minutes)", "1/6, or about 16.7%").
//
// A score with Parts (a judge's rubric criteria) is listed by the
// Calculator part by part, as components "COMPONENT.PART" weighted by the
// component's weight times the part's share. A [GroupFunc] component is
// scored once for a task's group by [Calculator.ScoreGroup] (the rollout
// runner calls it when a group completes); alone, by its Score.
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
//
// GRPO divides by the population standard deviation of the group (divide
// by n, as the GRPO paper) by default, which is what it always did; std:
// sample divides by n-1, as TRL's GRPOTrainer does (at n=4 its advantages
// are sqrt(3/4) ≈ 0.866 of the default's). Dr. GRPO and RLOO divide by no
// std, so std is an error with them.
package reward
