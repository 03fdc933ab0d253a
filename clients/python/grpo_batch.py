"""The tensors of a GRPO step, from retrain's training view.

Reads the JSONL written by ``retrain export --view tokens`` (one record per
training sequence: input_ids, loss_mask, old_logprobs, advantages, aligned
token by token) and builds what a GRPO/PPO step consumes, as numpy arrays
padded on the right:

    input_ids       int64   [B, T]  the tokens (pad_id after the end)
    attention_mask  int64   [B, T]  1 on real tokens, 0 on padding
    loss_mask       float32 [B, T]  1 on tokens the model generated
    old_logprobs    float32 [B, T]  log-probs the tokens were sampled with
    advantages      float32 [B, T]  per token (the group advantage, GRPO)

Position t of every per-token array is about token input_ids[:, t]: a new
policy's log-probs must be aligned the same way, new_logprobs[:, t] =
log p(input_ids[:, t] | input_ids[:, :t]) (see ``token_logprobs``; position
0 has none and is never in the loss mask). ``grpo_loss`` then gives the
PPO-clip loss with token-level normalisation, and its gradient with respect
to the new log-probs.

For trajectories streamed from ``retrain serve`` (or read from a ``retrain
rollout`` file), ``sequences`` makes the same records in Python.

Standard library and numpy only (Debian: apt-get install python3-numpy).

    python3 grpo_batch.py train.jsonl              # prints the batches' shapes and the loss at ratio 1
    python3 grpo_batch.py train.jsonl --batch-size 8

In torch the same arithmetic is torch.from_numpy on these arrays; for TRL,
verl, prime-rl and OpenRLHF see docs/trainers.md.
"""

import argparse
import json
import sys

import numpy as np

FIELDS = ("input_ids", "loss_mask", "old_logprobs", "advantages")


def read_sequences(path):
    """The records of a training-view JSONL file, as dicts, checked.

    Raises ValueError naming the line when a record lacks a field or its
    per-token arrays differ in length.
    """
    seqs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            missing = [k for k in FIELDS if k not in rec]
            if missing:
                raise ValueError(f"{path} line {n}: no {', '.join(missing)}: is it `retrain export --view tokens` output?")
            lengths = {k: len(rec[k]) for k in FIELDS}
            if len(set(lengths.values())) != 1:
                raise ValueError(f"{path} line {n}: per-token arrays differ in length: {lengths}")
            seqs.append(rec)
    return seqs


def sequences(trajectory, advantage="trajectory"):
    """The training sequences of one trajectory dict, as ``retrain export --view tokens`` makes them.

    For trajectories streamed from ``retrain serve`` (/v1/rollouts, with token_ids) or read from a
    ``retrain rollout`` file. Returns a list of records with the export's fields, or raises
    ValueError saying why the trajectory cannot be used (failed, no token ids or log-probs, no
    advantage). advantage is "trajectory" (the group advantage on every model token) or "turn".
    Each turn's prompt ids beyond the tokens so far are environment tokens (mask 0), its completion
    follows (mask 1); where a prompt does not extend the tokens so far, a new part starts with it.
    """
    tid = trajectory.get("id", "?")
    if trajectory.get("error"):
        raise ValueError(f"episode {tid}: the episode failed ({trajectory['error'].splitlines()[0]})")
    turns = trajectory.get("turns") or []
    if not turns:
        raise ValueError(f"episode {tid}: no model turns")
    rewards = trajectory.get("rewards") or {}
    if advantage == "turn":
        per_turn = [t.get("advantage") for t in rewards.get("turns") or []]
        if len(per_turn) != len(turns) or None in per_turn:
            raise ValueError(f"episode {tid}: no advantage per turn: score it with advantage: grpo")
        advs = per_turn
    else:
        if rewards.get("advantage") is None:
            raise ValueError(f"episode {tid}: no advantage: score it with a reward config that names one (advantage: grpo)")
        advs = [rewards["advantage"]] * len(turns)
    task = trajectory.get("task") or {}
    out, cur = [], None
    for i, turn in enumerate(turns):
        prompt = turn.get("prompt_token_ids") or []
        action = turn.get("action") or {}
        tokens = action.get("tokens") or {}
        ids, lps = tokens.get("ids") or [], tokens.get("logprobs") or []
        if not prompt or (not ids and (action.get("raw") or action.get("tool_calls"))):
            raise ValueError(f"episode {tid} turn {i}: no token ids: run the rollout with token ids (--token-ids)")
        if len(lps) != len(ids) or len(tokens.get("text") or ids) != len(ids):
            raise ValueError(f"episode {tid} turn {i}: no log-probs for every token")
        if cur is not None and prompt[: len(cur["input_ids"])] != cur["input_ids"]:
            cur = None
        if cur is None:
            cur = {
                "episode_id": tid, "group_id": task.get("id", ""), "task_id": task.get("id", ""),
                "sample": trajectory.get("sample", 0), "part": len(out),
                "input_ids": [], "loss_mask": [], "old_logprobs": [], "advantages": [],
                "reward": rewards.get("total", 0.0), "first_turn": i,
                "turn_starts": [], "turn_ends": [], "finish_reasons": [],
                "stop_reason": trajectory.get("stop_reason", ""),
            }
            for key in ("policy_version", "logprobs_mode", "sampling"):
                if turn.get(key):
                    cur[key] = turn[key]
            out.append(cur)
        env = prompt[len(cur["input_ids"]):]
        cur["input_ids"] += env
        cur["loss_mask"] += [0] * len(env)
        cur["old_logprobs"] += [0.0] * len(env)
        cur["advantages"] += [0.0] * len(env)
        cur["turn_starts"].append(len(cur["input_ids"]))
        cur["input_ids"] += ids
        cur["loss_mask"] += [1] * len(ids)
        cur["old_logprobs"] += lps
        cur["advantages"] += [advs[i]] * len(ids)
        cur["turn_ends"].append(len(cur["input_ids"]))
        cur["finish_reasons"].append(turn.get("finish_reason", ""))
    return out


def groups(seqs):
    """The sequences by group (task): {group_id: [records]}, in file order."""
    out = {}
    for s in seqs:
        out.setdefault(s["group_id"], []).append(s)
    return out


def build_batch(seqs, pad_id=0, max_len=None):
    """Pad records into the arrays of one step (see the module doc).

    max_len, when set, truncates longer sequences (their tail tokens are
    dropped, loss included); by default T is the longest sequence.
    """
    if not seqs:
        raise ValueError("no sequences")
    T = max(len(s["input_ids"]) for s in seqs)
    if max_len is not None:
        T = min(T, max_len)
    B = len(seqs)
    batch = {
        "input_ids": np.full((B, T), pad_id, dtype=np.int64),
        "attention_mask": np.zeros((B, T), dtype=np.int64),
        "loss_mask": np.zeros((B, T), dtype=np.float32),
        "old_logprobs": np.zeros((B, T), dtype=np.float32),
        "advantages": np.zeros((B, T), dtype=np.float32),
    }
    for i, s in enumerate(seqs):
        n = min(len(s["input_ids"]), T)
        batch["input_ids"][i, :n] = s["input_ids"][:n]
        batch["attention_mask"][i, :n] = 1
        batch["loss_mask"][i, :n] = s["loss_mask"][:n]
        batch["old_logprobs"][i, :n] = s["old_logprobs"][:n]
        batch["advantages"][i, :n] = s["advantages"][:n]
    return batch


def token_logprobs(logits, input_ids):
    """Per-token log-probs aligned with input_ids, from a causal LM's logits.

    logits[:, t] predicts token t+1, so out[:, t] = log_softmax(logits[:, t-1])[input_ids[:, t]]
    for t >= 1, and out[:, 0] = 0. logits: [B, T, V]; input_ids: [B, T].
    """
    z = logits[:, :-1, :].astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, input_ids[:, 1:, None], axis=-1)[..., 0]
    out = np.zeros(input_ids.shape, dtype=np.float32)
    out[:, 1:] = picked
    return out


def grpo_loss(batch, new_logprobs, clip_eps=0.2, clip_eps_high=None):
    """The PPO-clip loss of a GRPO step, normalised per token, and its gradient.

    ratio = exp(new - old) on every model token; the token's loss is
    max(-A * ratio, -A * clip(ratio, 1 - clip_eps, 1 + clip_eps_high)), and the
    loss is their sum over the loss mask divided by the number of model tokens
    in the batch (token-level normalisation, as DAPO and Dr. GRPO; the
    original GRPO averages per sequence first). clip_eps_high defaults to
    clip_eps (DAPO's clip-higher sets it larger).

    Returns (loss, grad, stats): grad is d loss / d new_logprobs, [B, T]
    (zero where a token is clipped or masked out); stats has clip_fraction
    and kl (the k3 estimate of KL(old || new) over model tokens).
    """
    if clip_eps_high is None:
        clip_eps_high = clip_eps
    mask = batch["loss_mask"].astype(np.float64)
    n = mask.sum()
    if n == 0:
        raise ValueError("the batch has no model tokens")
    adv = batch["advantages"].astype(np.float64)
    delta = (np.asarray(new_logprobs, dtype=np.float64) - batch["old_logprobs"]) * mask
    ratio = np.exp(delta)
    clipped = np.clip(ratio, 1 - clip_eps, 1 + clip_eps_high)
    unclipped_loss, clipped_loss = -adv * ratio, -adv * clipped
    per_token = np.maximum(unclipped_loss, clipped_loss)
    loss = (per_token * mask).sum() / n
    # The gradient flows through the unclipped term only where it is the max.
    active = (unclipped_loss >= clipped_loss) * mask
    grad = -adv * ratio * active / n
    clip_fraction = (((ratio < 1 - clip_eps) | (ratio > 1 + clip_eps_high)) * mask).sum() / n
    kl = ((np.exp(-delta) + delta - 1) * mask).sum() / n
    return float(loss), grad.astype(np.float32), {"clip_fraction": float(clip_fraction), "kl": float(kl)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path", help="a JSONL file from `retrain export --view tokens`")
    p.add_argument("--batch-size", type=int, default=0, help="sequences per batch (default: all in one)")
    args = p.parse_args(argv)
    seqs = read_sequences(args.path)
    size = args.batch_size or len(seqs)
    print(f"{len(seqs)} sequences in {len(groups(seqs))} groups")
    for start in range(0, len(seqs), size):
        batch = build_batch(seqs[start : start + size])
        # At the start of a step the policy is the one that sampled: ratio 1.
        loss, _, stats = grpo_loss(batch, batch["old_logprobs"])
        B, T = batch["input_ids"].shape
        tokens = int(batch["loss_mask"].sum())
        print(f"batch {start // size}: [{B}, {T}], {tokens} model tokens, loss at ratio 1 {loss:.6f}, kl {stats['kl']:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
