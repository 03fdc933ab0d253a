"""Guess the number: the target is drawn from the seeded generator; each
guess is answered "higher", "lower" or "correct"."""

from minispaces import Discrete, Env, Text


class Guess(Env):
    def __init__(self, n=16):
        self.n = n
        self.action_space = Discrete(n)
        self.observation_space = Text(10)
        self.target = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target = self.np_random.randrange(self.n)
        return "start", {"n": self.n}

    def step(self, a):
        if a == self.target:
            return "correct", 1.0, True, False, {}
        return ("higher" if a < self.target else "lower"), 0.0, False, False, {}
