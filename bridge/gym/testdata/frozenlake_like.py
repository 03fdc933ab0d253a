"""A stand-in for Gymnasium's FrozenLake (toy_text/frozen_lake.py), written
from its documented behaviour for tests without numpy: the same maps,
transition table, value types and ansi render.

- Actions 0 left, 1 down, 2 right, 3 up. Slippery: the move goes the
  intended way or to either side, 1/3 each.
- Observations are Python ints (row * ncol + col); rewards the floats 0.0
  and 1.0 (the int 0 from a terminal cell); infos {"prob": p}, {"prob": 1}
  after reset.
- Each reset and step draws one number from np_random (categorical_sample).
- The ansi render: a header line ("  (Down)" after a step, empty after
  reset), then the map with the agent's cell on a red background."""

from gymnasium import Env, logger, spaces, utils
from gymnasium.envs.toy_text.utils import categorical_sample
from gymnasium.error import DependencyNotInstalled

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
ACTION_WORDS = ["Left", "Down", "Right", "Up"]

MAPS = {
    "4x4": ["SFFF", "FHFH", "FFFH", "HFFG"],
    "8x8": ["SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
            "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"],
}


class FrozenLakeEnv(Env):
    metadata = {"render_modes": ["human", "ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, render_mode=None, desc=None, map_name="4x4", is_slippery=True):
        if desc is None:
            if map_name is None:
                raise NotImplementedError("the FrozenLake stand-in has no random maps: give desc or map_name")
            desc = MAPS[map_name]
        self.desc = [list(row) for row in desc]
        self.nrow, self.ncol = len(self.desc), len(self.desc[0])
        n_states = self.nrow * self.ncol
        starts = [1.0 if self.desc[s // self.ncol][s % self.ncol] == "S" else 0.0 for s in range(n_states)]
        self.initial_state_distrib = [p / sum(starts) for p in starts]
        self.P = {s: {a: self._outcomes(s, a, is_slippery) for a in range(4)} for s in range(n_states)}
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(4)
        self.render_mode = render_mode
        self.s, self.lastaction = 0, None

    def _move(self, row, col, a):
        if a == LEFT:
            col = max(col - 1, 0)
        elif a == DOWN:
            row = min(row + 1, self.nrow - 1)
        elif a == RIGHT:
            col = min(col + 1, self.ncol - 1)
        elif a == UP:
            row = max(row - 1, 0)
        return row, col

    def _outcomes(self, s, a, slippery):
        row, col = divmod(s, self.ncol)
        if self.desc[row][col] in "GH":
            return [(1.0, s, 0, True)]
        out = []
        for b in ([(a - 1) % 4, a, (a + 1) % 4] if slippery else [a]):
            r, c = self._move(row, col, b)
            letter = self.desc[r][c]
            out.append((1.0 / 3.0 if slippery else 1.0, r * self.ncol + c, float(letter == "G"), letter in "GH"))
        return out

    def step(self, a):
        transitions = self.P[self.s][a]
        i = categorical_sample([t[0] for t in transitions], self.np_random)
        p, s, r, t = transitions[i]
        self.s, self.lastaction = s, a
        return int(s), r, t, False, {"prob": p}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = categorical_sample(self.initial_state_distrib, self.np_random)
        self.lastaction = None
        return int(self.s), {"prob": 1}

    def render(self):
        if self.render_mode is None:
            logger.warn("You are calling render method without specifying any render mode.")
            return None
        if self.render_mode != "ansi":
            raise DependencyNotInstalled('pygame is not installed, run `pip install "gymnasium[toy-text]"`')
        rows = [list(r) for r in self.desc]
        row, col = int(self.s) // self.ncol, int(self.s) % self.ncol
        rows[row][col] = utils.colorize(rows[row][col], "red", highlight=True)
        head = "  (%s)\n" % ACTION_WORDS[self.lastaction] if self.lastaction is not None else "\n"
        return head + "\n".join("".join(r) for r in rows) + "\n"
