"""A stand-in for Gymnasium's CliffWalking (toy_text/cliffwalking.py),
written from its documented behaviour for tests without numpy.

- Actions 0 up, 1 right, 2 down, 3 left on a 4x12 grid; the start is 36
  (row 3, column 0), the goal 47; the cliff is row 3, columns 1-10.
- Stepping onto the cliff costs -100 and puts the agent back at the start;
  every other step costs -1; reaching the goal terminates. Slippery (v1's
  is_slippery): the intended way or either side, 1/3 each.
- Observations are Python ints (the table holds numpy int64 states);
  rewards Python ints; infos {"prob": 1.0}, {"prob": 1} after reset.
- The ansi render (no colours): x for the agent, T the goal, C the cliff,
  o the rest, cells three wide, then an empty line."""

import fakenp
from gymnasium import Env, logger, spaces
from gymnasium.envs.toy_text.utils import categorical_sample
from gymnasium.error import DependencyNotInstalled

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
DELTAS = {UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1)}
ROWS, COLS = 4, 12


def _cliff(row, col):
    return row == 3 and 1 <= col <= 10


class CliffWalkingEnv(Env):
    metadata = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, render_mode=None, is_slippery=False):
        self.is_slippery = is_slippery
        self.start_state_index = fakenp.int64(3 * COLS)
        self.nS, self.nA = ROWS * COLS, 4
        self.P = {s: {a: self._outcomes(divmod(s, COLS), a) for a in range(4)} for s in range(self.nS)}
        self.initial_state_distrib = [0.0] * self.nS
        self.initial_state_distrib[int(self.start_state_index)] = 1.0
        self.observation_space = spaces.Discrete(self.nS)
        self.action_space = spaces.Discrete(self.nA)
        self.render_mode = render_mode
        self.s, self.lastaction = self.start_state_index, None

    def _outcomes(self, position, move):
        moves = [(move - 1) % 4, move, (move + 1) % 4] if self.is_slippery else [move]
        out = []
        for m in moves:
            dr, dc = DELTAS[m]
            row = min(max(position[0] + dr, 0), ROWS - 1)
            col = min(max(position[1] + dc, 0), COLS - 1)
            if _cliff(row, col):
                out.append((1 / len(moves), self.start_state_index, -100, False))
            else:
                out.append((1 / len(moves), fakenp.int64(row * COLS + col), -1, (row, col) == (ROWS - 1, COLS - 1)))
        return out

    def step(self, a):
        transitions = self.P[int(self.s)][a]
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
        text = ""
        for s in range(self.nS):
            row, col = divmod(s, COLS)
            if int(self.s) == s:
                cell = " x "
            elif (row, col) == (ROWS - 1, COLS - 1):
                cell = " T "
            elif _cliff(row, col):
                cell = " C "
            else:
                cell = " o "
            if col == 0:
                cell = cell.lstrip()
            if col == COLS - 1:
                cell = cell.rstrip() + "\n"
            text += cell
        return text + "\n"
