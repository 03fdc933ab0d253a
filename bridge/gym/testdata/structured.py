"""Environments with structured action spaces. Each observation echoes the
action received, with the Python type names of its parts, so that tests can
check what reached the environment."""

from minispaces import Box, Dict, Discrete, Env, MultiBinary, MultiDiscrete, Text, Tuple


def _types(a):
    if isinstance(a, dict):
        return {k: _types(v) for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return [type(a).__name__] + [_types(v) for v in a]
    return type(a).__name__


class Echo(Env):
    def __init__(self, space="dict", steps=3):
        self.steps = steps
        if space == "dict":
            self.action_space = Dict({
                "move": Discrete(3),
                "power": Box(0.0, 1.0, (2,)),
                "flags": MultiBinary(3),
            })
        elif space == "tuple":
            self.action_space = Tuple([Discrete(2, start=1), MultiDiscrete([3, 5], start=[0, 10])])
        elif space == "text":
            self.action_space = Text(8, min_length=2, charset="abc")
        elif space == "box":
            self.action_space = Box(-1.0, 1.0, ())
        else:
            raise ValueError("unknown space %r" % space)
        self.observation_space = Dict({})
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return {"t": 0}, {}

    def step(self, a):
        self.t += 1
        return {"t": self.t, "action": a, "types": _types(a)}, 0.5, self.t >= self.steps, False, {"inf": float("inf")}
