"""Plays a plan on a Gymnasium environment directly, without the bridge, and
prints one JSON line per call, for tests that compare the bridge with the
environment itself:

    python3 reference.py ENV_ID KWARGS_JSON PLAN_JSON

PLAN_JSON is a list of {"reset": seed-or-null} and {"step": action}. Each
line is {"observation", "reward", "terminated", "truncated", "info",
"render"}; render is env.render() when the environment renders as ansi. A
step after the episode ended (and before the next reset) is not played:
its line is {"skipped": true}.
Values are made plain here by their own item()/tolist() (not by the shim's
code), so that the comparison checks the shim's encoding. With the
gymnasium stand-in on PYTHONPATH it plays the stand-ins; with real
gymnasium installed, the real environments."""

import json
import math
import sys

import gymnasium


def plain(v):
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return float(v)
    if hasattr(v, "tolist"):
        return plain(v.tolist())
    if hasattr(v, "item"):
        return plain(v.item())
    raise TypeError("cannot make %r plain" % (v,))


def main():
    env_id, kwargs, plan = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    env = gymnasium.make(env_id, **kwargs)
    out = []
    done = True
    for call in plan:
        if "reset" in call:
            obs, info = env.reset(seed=call["reset"])
            reward, terminated, truncated = 0, False, False
        elif done:
            out.append({"skipped": True})
            continue
        else:
            obs, reward, terminated, truncated, info = env.step(int(call["step"]))
        done = bool(terminated) or bool(truncated)
        render = env.render() if env.render_mode == "ansi" else None
        out.append({"observation": plain(obs), "reward": plain(reward), "terminated": bool(terminated),
                    "truncated": bool(truncated), "info": plain(info), "render": render})
    env.close()
    for line in out:
        sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
