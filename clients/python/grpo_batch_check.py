"""Tests of grpo_batch (numpy): run with Debian's python3, which has numpy.

The Go test cmd/retrain/export_python_test.go exports a real rollout of the
built-in model and runs these with:

    RETRAIN_TRAIN_VIEW=train.jsonl /usr/bin/python3 -m unittest -v grpo_batch_check

(The file is not named test_*.py so that the client's own tests, run with a
python3 that may lack numpy, do not collect it.)
"""

import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout

import numpy as np

import grpo_batch

VIEW = os.environ.get("RETRAIN_TRAIN_VIEW")
TRAJECTORIES = os.environ.get("RETRAIN_TRAJECTORIES")


def record(ids, mask, old, adv, group="g"):
    return {"group_id": group, "input_ids": ids, "loss_mask": mask, "old_logprobs": old, "advantages": adv}


class BatchTest(unittest.TestCase):
    def test_padding(self):
        seqs = [
            record([1, 2, 3, 4], [0, 0, 1, 1], [0, 0, -0.5, -1.0], [0, 0, 2, 2]),
            record([5, 6], [0, 1], [0, -0.25], [0, -1], group="h"),
        ]
        b = grpo_batch.build_batch(seqs, pad_id=9)
        np.testing.assert_array_equal(b["input_ids"], [[1, 2, 3, 4], [5, 6, 9, 9]])
        np.testing.assert_array_equal(b["attention_mask"], [[1, 1, 1, 1], [1, 1, 0, 0]])
        np.testing.assert_array_equal(b["loss_mask"], [[0, 0, 1, 1], [0, 1, 0, 0]])
        np.testing.assert_array_equal(b["old_logprobs"], np.array([[0, 0, -0.5, -1], [0, -0.25, 0, 0]], dtype=np.float32))
        np.testing.assert_array_equal(b["advantages"], [[0, 0, 2, 2], [0, -1, 0, 0]])
        self.assertEqual(b["input_ids"].dtype, np.int64)
        self.assertEqual(b["old_logprobs"].dtype, np.float32)
        self.assertEqual(list(grpo_batch.groups(seqs)), ["g", "h"])
        short = grpo_batch.build_batch(seqs, max_len=3)
        self.assertEqual(short["input_ids"].shape, (2, 3))

    def test_loss_at_ratio_one(self):
        b = grpo_batch.build_batch([
            record([1, 2, 3], [0, 1, 1], [0, -1, -2], [0, 1, 1]),
            record([1, 2], [0, 1], [0, -3], [0, -0.5]),
        ])
        loss, grad, stats = grpo_batch.grpo_loss(b, b["old_logprobs"])
        # ratio 1: the loss is minus the mean advantage over the 3 model tokens.
        self.assertAlmostEqual(loss, -(1 + 1 - 0.5) / 3, places=6)
        np.testing.assert_allclose(grad, [[0, -1 / 3, -1 / 3], [0, 0.5 / 3, 0]], rtol=1e-6)
        self.assertEqual(stats["clip_fraction"], 0)
        self.assertAlmostEqual(stats["kl"], 0, places=12)

    def test_clipping(self):
        b = grpo_batch.build_batch([record([1, 2, 3], [0, 1, 1], [0, -1, -1], [0, 1, -1])])
        # Token 1 (A > 0) raised past 1 + eps: clipped, no gradient. Token 2 (A < 0)
        # raised too: the unclipped term is the larger loss, so it keeps its gradient.
        new = b["old_logprobs"] + np.array([[0, 0.5, 0.5]], dtype=np.float32)
        loss, grad, stats = grpo_batch.grpo_loss(b, new, clip_eps=0.2)
        r = np.exp(0.5)
        self.assertAlmostEqual(loss, (-1.2 + r) / 2, places=5)
        self.assertEqual(grad[0, 1], 0)
        self.assertAlmostEqual(float(grad[0, 2]), r / 2, places=5)
        self.assertEqual(stats["clip_fraction"], 1.0)
        # Clip-higher: with eps_high = 1 the A > 0 token is not clipped.
        _, grad, _ = grpo_batch.grpo_loss(b, new, clip_eps=0.2, clip_eps_high=1.0)
        self.assertAlmostEqual(float(grad[0, 1]), -r / 2, places=5)

    def test_gradient_matches_finite_differences(self):
        rng = np.random.default_rng(0)
        B, T = 3, 7
        seqs = []
        for i in range(B):
            mask = (rng.random(T) < 0.6).astype(int).tolist()
            mask[0] = 0
            old = [(-rng.random() if m else 0.0) for m in mask]
            a = float(rng.normal())
            seqs.append(record(list(range(T)), mask, old, [a if m else 0.0 for m in mask]))
        b = grpo_batch.build_batch(seqs)
        new = b["old_logprobs"] + rng.normal(scale=0.1, size=(B, T)).astype(np.float32)
        _, grad, _ = grpo_batch.grpo_loss(b, new)
        h = 1e-4
        for i in range(B):
            for t in range(T):
                up, down = new.astype(np.float64), new.astype(np.float64)
                up[i, t] += h
                down[i, t] -= h
                num = (grpo_batch.grpo_loss(b, up)[0] - grpo_batch.grpo_loss(b, down)[0]) / (2 * h)
                self.assertAlmostEqual(float(grad[i, t]), num, places=4, msg=f"token [{i}, {t}]")

    def test_token_logprobs_alignment(self):
        V = 5
        ids = np.array([[0, 3, 1]])
        logits = np.zeros((1, 3, V))
        logits[0, 0, 3] = 2.0  # position 0 predicts token 1 (id 3)
        lp = grpo_batch.token_logprobs(logits, ids)
        self.assertEqual(lp[0, 0], 0)
        self.assertAlmostEqual(float(lp[0, 1]), 2 - np.log(np.exp(2) + 4), places=6)
        self.assertAlmostEqual(float(lp[0, 2]), -np.log(V), places=6)

    def test_bad_records(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.jsonl")
            with open(path, "w") as f:
                f.write(json.dumps(record([1, 2], [0], [0, 0], [0, 0])) + "\n")
            with self.assertRaisesRegex(ValueError, "line 1: per-token arrays differ"):
                grpo_batch.read_sequences(path)
            with open(path, "w") as f:
                f.write(json.dumps({"id": "a#0", "turns": []}) + "\n")
            with self.assertRaisesRegex(ValueError, "no input_ids.*retrain export"):
                grpo_batch.read_sequences(path)


class SequencesTest(unittest.TestCase):
    def traj(self, turns, advantage=0.5):
        return {"id": "t#0", "sample": 0, "task": {"id": "t"}, "stop_reason": "terminated",
                "rewards": {"total": 1.0, "advantage": advantage, "turns": [{"advantage": 0.25 * (i + 1)} for i in range(len(turns))]},
                "turns": turns}

    def turn(self, prompt, ids, lps):
        return {"prompt_token_ids": prompt, "finish_reason": "stop",
                "action": {"raw": "x", "tokens": {"ids": ids, "logprobs": lps}}}

    def test_flatten_and_split(self):
        t = self.traj([
            self.turn([1, 2], [10, 11], [-1.0, -2.0]),
            self.turn([1, 2, 10, 11, 5], [12], [-3.0]),     # extends: one sequence
            self.turn([1, 2, 10, 99, 5, 12, 6], [13], [-4.0]),  # re-rendered history: a new part
        ])
        a, b = grpo_batch.sequences(t)
        self.assertEqual(a["input_ids"], [1, 2, 10, 11, 5, 12])
        self.assertEqual(a["loss_mask"], [0, 0, 1, 1, 0, 1])
        self.assertEqual(a["advantages"], [0, 0, 0.5, 0.5, 0, 0.5])
        self.assertEqual((a["turn_starts"], a["turn_ends"]), ([2, 5], [4, 6]))
        self.assertEqual((b["part"], b["first_turn"]), (1, 2))
        self.assertEqual(b["input_ids"], [1, 2, 10, 99, 5, 12, 6, 13])
        self.assertEqual(b["loss_mask"], [0] * 7 + [1])
        c, _ = grpo_batch.sequences(t, advantage="turn")
        self.assertEqual(c["advantages"], [0, 0, 0.25, 0.25, 0, 0.5])

    def test_refusals(self):
        ok = self.turn([1], [10], [-1.0])
        for name, t, phrase in [
            ("failed", dict(self.traj([ok]), error="model down"), "failed"),
            ("no turns", self.traj([]), "no model turns"),
            ("no ids", self.traj([{"prompt_token_ids": [1], "action": {"raw": "x"}}]), "--token-ids"),
            ("no advantage", self.traj([ok], advantage=None), "advantage: grpo"),
        ]:
            with self.assertRaisesRegex(ValueError, phrase, msg=name):
                grpo_batch.sequences(t)


@unittest.skipUnless(VIEW, "RETRAIN_TRAIN_VIEW is not set (run via go test ./cmd/retrain -run PythonGRPO)")
class ExportTest(unittest.TestCase):
    """On a real export of the built-in model's rollouts."""

    @unittest.skipUnless(TRAJECTORIES, "RETRAIN_TRAJECTORIES is not set")
    def test_sequences_match_export(self):
        # The Python flattening of the trajectories gives the Go export, field for field.
        want = grpo_batch.read_sequences(VIEW)
        got = []
        with open(TRAJECTORIES, encoding="utf-8") as f:
            for line in f:
                got += grpo_batch.sequences(json.loads(line))
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertEqual(set(g), set(w) - {"failed"}, w["episode_id"])
            for k in w:
                if k in ("old_logprobs", "advantages"):
                    np.testing.assert_array_equal(np.float32(g[k]), np.float32(w[k]), err_msg=f"{w['episode_id']} {k}")
                elif k == "reward":
                    self.assertAlmostEqual(g[k], w[k], places=12)
                else:
                    self.assertEqual(g[k], w[k], f"{w['episode_id']} {k}")

    def test_real_export(self):
        seqs = grpo_batch.read_sequences(VIEW)
        self.assertGreater(len(seqs), 0)
        b = grpo_batch.build_batch(seqs)
        B, T = b["input_ids"].shape
        self.assertEqual(B, len(seqs))
        self.assertEqual(T, max(len(s["input_ids"]) for s in seqs))
        for i, s in enumerate(seqs):
            n = len(s["input_ids"])
            self.assertEqual(int(b["attention_mask"][i].sum()), n)
            np.testing.assert_array_equal(b["input_ids"][i, :n], s["input_ids"])
            np.testing.assert_array_equal(b["loss_mask"][i, :n], s["loss_mask"])
            self.assertEqual(b["loss_mask"][i, n:].sum(), 0)
            # Model tokens are the spans the turn boundaries name.
            spans = np.zeros(n)
            for a, e in zip(s["turn_starts"], s["turn_ends"]):
                spans[a:e] = 1
            np.testing.assert_array_equal(spans, s["loss_mask"])
            self.assertTrue(all(lp <= 0 for lp in s["old_logprobs"]))
            # GRPO: one advantage per sequence, on its model tokens.
            adv = {a for a, m in zip(s["advantages"], s["loss_mask"]) if m}
            self.assertLessEqual(len(adv), 1)
        # Group advantages (population std) sum to zero over a group.
        for g, members in grpo_batch.groups(seqs).items():
            total = sum(next((a for a, m in zip(s["advantages"], s["loss_mask"]) if m), 0) for s in members)
            self.assertAlmostEqual(total, 0, places=4, msg=g)
        loss, _, stats = grpo_batch.grpo_loss(b, b["old_logprobs"])
        mask = b["loss_mask"]
        self.assertAlmostEqual(loss, -float((b["advantages"] * mask).sum() / mask.sum()), places=5)
        self.assertEqual(stats["clip_fraction"], 0)
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(grpo_batch.main([VIEW, "--batch-size", "4"]), 0)
        self.assertIn(f"{len(seqs)} sequences in", out.getvalue())


if __name__ == "__main__":
    unittest.main()
