// Package judge is the "judge" reward: a language model, served by any
// OpenAI-compatible server, scores responses that have no checkable answer
// (summaries, helpfulness, style, an agent's final report) against criteria
// or a weighted rubric.
//
// Importing the package registers the reward in [reward.Default] (the
// retrain command imports it); [Register] adds it to a private registry.
// In a reward configuration:
//
//	rollout:
//	  - name: quality
//	    reward: judge
//	    params:
//	      base_url: http://127.0.0.1:8000/v1   # or $RETRAIN_JUDGE_BASE_URL
//	      model: Qwen/Qwen3-8B
//	      cache: judge-cache                  # verdicts on disk, reused
//	      rubric:
//	        - {name: faithful, weight: 2, description: Every claim is in the source.}
//	        - {name: concise, description: At most three sentences.}
//	      group: true                         # a task's samples in one call
//
// and in Go:
//
//	f, err := reward.New("judge", map[string]any{"base_url": url, "criteria": "The answer is polite."})
//	defer f.(io.Closer).Close()
//	sc, err := f.Score(ctx, reward.Sample{Task: task, Completion: reply, Step: -1})
//	// sc.Value in [0, 1]; sc.Parts per rubric criterion
//
// The prompt is a template ([DefaultTemplate], [DefaultGroupTemplate]) with
// the placeholders {{task}}, {{reference}}, {{response}} (or {{responses}}),
// {{criteria}} and {{format}} (the instructions for the verdict's form). The
// verdict is read by [ParseVerdict]: a score on the declared scale, yes/no,
// or a JSON object, in prose, in a code fence or after a <think> block. A
// reply without a readable verdict is asked again (params.retries, telling
// the judge what was wrong), then the component fails with the judge's reply
// in Rewards.Errors: never a silent 0. A judge that cannot be reached fails
// its component the same way; the run goes on.
//
// A rubric's criteria are judged in one call (a JSON object by criterion)
// or one call each (per_criterion), and each is its own component,
// "COMPONENT.CRITERION", weighted by its share of the rubric. With group,
// the [reward.Calculator] scores a task's samples together
// ([reward.GroupFunc]): one call per criterion sees all of them and scores
// them relative to each other; a group whose prompt is longer than
// max_group_chars, or too long for the judge's context, is judged sample by
// sample.
//
// Requests go through model/endpoint and model/openai: the concurrency cap
// (max_in_flight), per-attempt timeout and retries with backoff of any
// model. The API key comes from the environment ($RETRAIN_JUDGE_API_KEY,
// else $OPENAI_API_KEY, or the variable api_key_env names), never from the
// params. The params that name an address, a variable or a path are the
// operator's: `retrain serve` refuses a client's reward configuration that
// sets them ([reward.Registry.OperatorParams]). See design.md for the
// decisions.
package judge
