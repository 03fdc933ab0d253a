"""A FrozenLake-like grid: reach G without falling into a hole H. With
is_slippery, the agent moves in the intended direction with probability 1/3
and to either side otherwise, drawn from the seeded generator."""

from minispaces import Discrete, Env

MAP = ["SFFF", "FHFH", "FFFH", "HFFG"]
LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
NAMES = ["Left", "Down", "Right", "Up"]


class GridWorld(Env):
    metadata = {"render_modes": ["ansi"]}

    def __init__(self, render_mode=None, is_slippery=True, max_episode_steps=100):
        self.render_mode = render_mode
        self.is_slippery = is_slippery
        self.max_episode_steps = max_episode_steps
        self.nrow, self.ncol = len(MAP), len(MAP[0])
        self.action_space = Discrete(4)
        self.observation_space = Discrete(self.nrow * self.ncol)
        self.s, self.last, self.t = 0, None, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s, self.last, self.t = 0, None, 0
        if options and "start" in options:
            self.s = int(options["start"])
        return self.s, {"prob": 1, "seed": seed}

    def _move(self, a):
        r, c = divmod(self.s, self.ncol)
        if a == LEFT:
            c = max(c - 1, 0)
        elif a == DOWN:
            r = min(r + 1, self.nrow - 1)
        elif a == RIGHT:
            c = min(c + 1, self.ncol - 1)
        elif a == UP:
            r = max(r - 1, 0)
        return r * self.ncol + c

    def step(self, a):
        if type(a) is not int:
            raise TypeError("action must be an int, got %r" % (type(a),))
        if not 0 <= a < 4:
            raise ValueError("action %r out of range" % a)
        if self.is_slippery:
            a = [(a - 1) % 4, a, (a + 1) % 4][self.np_random.randrange(3)]
        self.s = self._move(a)
        self.last = a
        self.t += 1
        cell = MAP[self.s // self.ncol][self.s % self.ncol]
        terminated = cell in "GH"
        truncated = not terminated and self.t >= self.max_episode_steps
        return self.s, float(cell == "G"), terminated, truncated, {"prob": 1 / 3 if self.is_slippery else 1}

    def render(self):
        if self.render_mode != "ansi":
            return None
        rows = [list(row) for row in MAP]
        r, c = divmod(self.s, self.ncol)
        rows[r][c] = "\x1b[41m" + rows[r][c] + "\x1b[0m"
        out = ""
        if self.last is not None:
            out += "  (%s)\n" % NAMES[self.last]
        return out + "\n".join("".join(row) for row in rows) + "\n"


def make(**kwargs):
    return GridWorld(**kwargs)
