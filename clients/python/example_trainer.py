"""Feeding retrain's trajectories to a trainer, without torch.

Reads trajectories (a JSONL file written by ``retrain rollout``, or streamed
from ``retrain serve``'s /v1/rollouts) and builds the batches a GRPO/PPO
trainer consumes: for every assistant turn, the prompt's token ids, the
completion's token ids and log-probabilities (the "old" policy's), and the
turn's advantage. A real trainer would turn each batch into tensors; here a
toy policy-gradient loss is computed in plain Python to show the arithmetic.

    python3 example_trainer.py --jsonl rollouts.jsonl --batch-size 8
    python3 example_trainer.py --url http://127.0.0.1:8080 --model-url http://127.0.0.1:8000/v1 --n 4
"""

import argparse
import json
import sys

import retrain_client


def turn_samples(trajectory):
    """One training sample per assistant turn of a successful trajectory.

    A sample is a dict: prompt_messages, prompt_token_ids, completion_token_ids,
    logprobs, advantage, reward. Turns without completion token ids (the server
    did not report them: ask for token_ids) are skipped.
    """
    if trajectory.get("error"):
        return []  # failed episodes carry no learning signal
    rewards = trajectory.get("rewards") or {}
    turn_rewards = rewards.get("turns") or []
    episode_advantage = rewards.get("advantage")
    samples = []
    for i, turn in enumerate(trajectory.get("turns", [])):
        tokens = turn["action"].get("tokens") or {}
        ids, logprobs = tokens.get("ids") or [], tokens.get("logprobs") or []
        if not ids or len(ids) != len(logprobs):
            continue
        advantage = None
        reward = turn.get("reward", 0.0)
        if i < len(turn_rewards):
            advantage = turn_rewards[i].get("advantage")
            reward = turn_rewards[i].get("reward", reward)
        if advantage is None:
            advantage = episode_advantage if episode_advantage is not None else 0.0
        samples.append({
            "prompt_messages": trajectory["messages"][: turn["prompt_messages"]],
            "prompt_token_ids": turn.get("prompt_token_ids") or [],
            "completion_token_ids": ids,
            "logprobs": logprobs,
            "advantage": advantage,
            "reward": reward,
        })
    return samples


def batches(samples, batch_size, pad_id=0):
    """Group samples into padded batches: lists of equal-length rows.

    Each batch has input_ids (prompt + completion), completion_mask (1 on
    completion tokens), old_logprobs (aligned with input_ids, 0 on the
    prompt), advantages (one per row) and lengths.
    """
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        rows = [s["prompt_token_ids"] + s["completion_token_ids"] for s in chunk]
        width = max(len(r) for r in rows)
        batch = {"input_ids": [], "completion_mask": [], "old_logprobs": [], "advantages": [], "lengths": []}
        for s, row in zip(chunk, rows):
            pad = width - len(row)
            n_prompt = len(s["prompt_token_ids"])
            batch["input_ids"].append(row + [pad_id] * pad)
            batch["completion_mask"].append([0] * n_prompt + [1] * len(s["completion_token_ids"]) + [0] * pad)
            batch["old_logprobs"].append([0.0] * n_prompt + list(s["logprobs"]) + [0.0] * pad)
            batch["advantages"].append(s["advantage"])
            batch["lengths"].append(len(row))
        yield batch


def toy_loss(batch):
    """A REINFORCE-style loss: -mean over rows of advantage * sum of the
    completion's log-probabilities (a trainer would use the current policy's
    log-probabilities, and the old ones for the importance ratio)."""
    total = 0.0
    for adv, mask, lps in zip(batch["advantages"], batch["completion_mask"], batch["old_logprobs"]):
        total += -adv * sum(lp for lp, m in zip(lps, mask) if m)
    return total / max(1, len(batch["advantages"]))


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jsonl", help="a JSONL file of trajectories (retrain rollout --out)")
    p.add_argument("--url", help="retrain serve's URL, to request rollouts from")
    p.add_argument("--model-url", help="the model server's base URL (with --url)")
    p.add_argument("--env", default="calculator")
    p.add_argument("--n", type=int, default=4, help="samples per task (with --url)")
    p.add_argument("--batch-size", type=int, default=8)
    args = p.parse_args(argv)
    if args.jsonl:
        trajectories = list(read_jsonl(args.jsonl))
    elif args.url and args.model_url:
        client = retrain_client.Client(args.url)
        stream = client.rollouts(
            env=args.env, n=args.n,
            tasks=[{"id": "a", "prompt": "What is 37 * 12 + 5?", "answer": "449"}, {"id": "b", "prompt": "What is 9 * 9?", "answer": "81"}],
            model={"base_url": args.model_url, "token_ids": True},
            reward={"rollout": [{"name": "correct", "reward": "math_equal"}], "advantage": "grpo"},
        )
        trajectories = list(stream)
        print("summary:", json.dumps(stream.summary), file=sys.stderr)
    else:
        p.error("give --jsonl, or --url and --model-url")
    samples = [s for t in trajectories for s in turn_samples(t)]
    print(f"{len(trajectories)} trajectories, {len(samples)} training samples")
    for i, batch in enumerate(batches(samples, args.batch_size)):
        width = len(batch["input_ids"][0])
        print(f"batch {i}: {len(batch['input_ids'])} rows x {width} tokens, "
              f"{sum(map(sum, batch['completion_mask']))} completion tokens, toy loss {toy_loss(batch):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
