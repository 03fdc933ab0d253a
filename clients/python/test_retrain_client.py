"""Tests of retrain_client against a running retrain serve.

The Go test cmd/retrain/serve_python_test.go starts the server and a fake
model server and runs these with:

    RETRAIN_SERVE_URL=http://127.0.0.1:PORT RETRAIN_SERVE_TOKEN=... \
    RETRAIN_FAKE_MODEL_URL=http://127.0.0.1:PORT/v1 python3 -m unittest discover -s clients/python
"""

import io
import os
import unittest
from contextlib import redirect_stdout

import example_trainer
import retrain_client

URL = os.environ.get("RETRAIN_SERVE_URL")
MODEL = os.environ.get("RETRAIN_FAKE_MODEL_URL")

TOOL_CALL = '<tool>{"name": "calculator", "args": {"expression": "6*7"}}</tool>'


@unittest.skipUnless(URL, "RETRAIN_SERVE_URL is not set (run via go test ./cmd/retrain -run Python)")
class SessionTest(unittest.TestCase):
    def setUp(self):
        self.client = retrain_client.Client(URL)

    def test_health_envs_schema(self):
        self.assertEqual(self.client.health()["status"], "healthy")
        names = [e["name"] for e in self.client.envs()]
        self.assertIn("calculator", names)
        schema = self.client.schema("calculator")
        self.assertIn("raw", schema["action"]["properties"])
        self.assertIn("retrain_serve_sessions_open", self.client.metrics())

    def test_episode(self):
        with self.client.session("calculator") as s:
            r = s.reset(prompt="What is 6 * 7?", answer="42", seed=1)
            self.assertFalse(r["done"])
            self.assertIsNone(r["reward"])
            self.assertEqual(r["session_id"], s.id)
            messages = r["observation"]["messages"]
            self.assertEqual(messages[0]["role"], "system")
            self.assertEqual(messages[-1]["content"], "What is 6 * 7?")

            r = s.step(raw=TOOL_CALL, request_id="call-1")
            self.assertEqual(r["request_id"], "call-1")
            self.assertEqual(r["observation"]["tool_results"][0]["output"], "42")
            self.assertIn("tool_seconds", r["metadata"])  # the step's info is kept
            again = s.step(raw=TOOL_CALL, request_id="call-1")  # a retry: answered, not run twice
            self.assertEqual(again["observation"], r["observation"])

            r = s.step(raw="<answer>42</answer>")
            self.assertTrue(r["done"])
            self.assertTrue(r["terminated"])
            state = s.state()
            self.assertEqual(state["step_count"], 2)
            self.assertTrue(state["done"])
        s.close()  # closing again is a no-op
        stale = retrain_client.Session(self.client, self.client._conn(), s.id, "calculator", "/envs/calculator")
        with self.assertRaises(retrain_client.SessionNotFound):
            stale.state()
        stale._conn.close()

    def test_errors(self):
        with self.client.session("calculator") as s:
            s.reset(prompt="x")
            with self.assertRaises(retrain_client.RetrainError) as cm:
                s.step(action={"message": "hi"})
            self.assertEqual(cm.exception.status, 422)
            self.assertEqual(cm.exception.code, "VALIDATION_ERROR")
            self.assertIn("unknown field", str(cm.exception))
        with self.assertRaises(retrain_client.RetrainError) as cm:
            self.client.session("no_such_env")
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(retrain_client.RetrainError) as cm:
            retrain_client.Client(URL, token="wrong").envs()
        self.assertEqual(cm.exception.status, 401)


@unittest.skipUnless(URL and MODEL, "RETRAIN_SERVE_URL or RETRAIN_FAKE_MODEL_URL is not set")
class RolloutTest(unittest.TestCase):
    def test_rollouts_and_trainer_batches(self):
        client = retrain_client.Client(URL)
        stream = client.rollouts(
            env="calculator",
            tasks=[{"id": "a", "prompt": "What is 6 * 7?", "answer": "42"}, {"id": "b", "prompt": "What is 2 + 3?", "answer": "6"}],
            n=2,
            model={"base_url": MODEL, "token_ids": True},
            reward={"rollout": [{"name": "correct", "reward": "math_equal"}], "advantage": "dr_grpo"},
        )
        trajectories = list(stream)
        self.assertEqual(len(trajectories), 4)
        self.assertEqual(stream.summary["episodes"], 4)
        self.assertEqual(stream.summary["succeeded"], 4)
        self.assertEqual(stream.summary["mean_reward"], 0.5)
        for t in trajectories:
            self.assertEqual(t["stop_reason"], "terminated")
            self.assertEqual(t["rewards"]["rollout"]["correct"], 1.0 if t["task"]["id"] == "a" else 0.0)

        samples = [s for t in trajectories for s in example_trainer.turn_samples(t)]
        self.assertEqual(len(samples), 8)  # two turns per episode: the tool call and the answer
        for s in samples:
            self.assertTrue(s["prompt_token_ids"])
            self.assertEqual(len(s["completion_token_ids"]), len(s["logprobs"]))
            self.assertEqual(s["advantage"], 0.0)  # both samples of each group score alike
        batch = next(example_trainer.batches(samples, 8))
        width = len(batch["input_ids"][0])
        self.assertTrue(all(len(row) == width for row in batch["input_ids"]))
        self.assertEqual(sum(map(sum, batch["completion_mask"])), sum(len(s["completion_token_ids"]) for s in samples))
        self.assertEqual(example_trainer.toy_loss(batch), 0.0)

        out = io.StringIO()
        with redirect_stdout(out):
            example_trainer.main(["--url", URL, "--model-url", MODEL, "--n", "2", "--batch-size", "4"])
        self.assertIn("4 trajectories, 8 training samples", out.getvalue())

    def test_rollout_error(self):
        with self.assertRaises(retrain_client.RetrainError) as cm:
            retrain_client.Client(URL).rollouts(env="calculator", model={"base_url": MODEL})
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("no tasks", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
