"""An environment registered in the gymnasium stand-in (SpacesLike-v0, with
a TimeLimit of 3 steps) whose spaces hold numpy-like attributes and whose
observations, rewards, flags and infos are numpy-like values (fakenp), as
real environments hand them out: the shim must encode them all as plain
JSON, ints as ints. Each observation echoes the step count; the info says
which Python types the action's parts arrived as."""

import fakenp
from gymnasium import Env, spaces

REWARDS = [fakenp.float32(0.5), fakenp.int64(2), fakenp.float64(-1.5)]


def _types(a):
    if isinstance(a, dict):
        return {k: _types(v) for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return [type(a).__name__] + [_types(v) for v in a]
    return type(a).__name__


class SpacesEnv(Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.action_space = spaces.Dict({
            "move": spaces.Discrete(3, start=1),
            "power": spaces.Box(-1.0, [1.0, float("inf")], (2,)),
            "dial": spaces.MultiDiscrete([3, 5], start=[0, 10]),
            "flags": spaces.MultiBinary(3),
            "word": spaces.Text(4, min_length=1, charset="ba"),
        })
        self.observation_space = spaces.Discrete(10)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        info = {
            "np_int": fakenp.int64(7),
            "np_float32": fakenp.float32(0.5),
            "np_float64": fakenp.float64(0.25),
            "flag": fakenp.bool_(True),
            "mask": fakenp.ndarray([1, 0, 1], "int8"),
            "grid": fakenp.ndarray([[1, 2], [3, 4]], "int64"),
            "pair": (fakenp.int64(1), 2),
            "nan": fakenp.float64(float("nan")),
            "seed": seed,
        }
        return fakenp.int64(0), info

    def step(self, action):
        assert self.action_space.spaces["move"].contains(action["move"]), "move %r" % (action["move"],)
        reward = REWARDS[self.t % len(REWARDS)]
        self.t += 1
        return fakenp.int64(self.t), reward, fakenp.bool_(False), fakenp.bool_(False), {"types": _types(action)}

    def render(self):
        return "t=%d\n" % self.t if self.render_mode == "ansi" else None
