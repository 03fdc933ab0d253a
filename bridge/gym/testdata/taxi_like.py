"""A stand-in for Gymnasium's Taxi (toy_text/taxi.py), written from its
documented behaviour for tests without numpy.

- Actions 0 south, 1 north, 2 east, 3 west, 4 pickup, 5 dropoff.
- States encode ((taxi_row * 5 + taxi_col) * 5 + passenger) * 4 +
  destination; passenger 0-3 is at R, G, Y, B, 4 is in the taxi.
- Observations are Python ints; rewards the ints -1, -10 (illegal pickup or
  dropoff) and 20 (delivery, which terminates); infos {"prob": 1.0,
  "action_mask": int8 array of 6}.
- The start is drawn uniformly (categorical_sample) from the 300 states with
  the passenger waiting somewhere other than the destination.
- The ansi render: the map, the taxi on a yellow background (green with the
  passenger aboard, its cell "_" when blank), the passenger's stop in bold
  blue, the destination in magenta; then "  (South)" after a step, an
  empty line after reset."""

import fakenp
from gymnasium import Env, logger, spaces, utils
from gymnasium.envs.toy_text.utils import categorical_sample
from gymnasium.error import DependencyNotInstalled

MAP = [
    "+---------+",
    "|R: | : :G|",
    "| : | : : |",
    "| : : : : |",
    "| | : | : |",
    "|Y| : |B: |",
    "+---------+",
]
LOCS = [(0, 0), (0, 4), (4, 0), (4, 3)]
ACTION_WORDS = ["South", "North", "East", "West", "Pickup", "Dropoff"]


def encode(row, col, passenger, destination):
    return ((row * 5 + col) * 5 + passenger) * 4 + destination


def decode(s):
    s = int(s)
    destination = s % 4
    s //= 4
    passenger = s % 5
    s //= 5
    return s // 5, s % 5, passenger, destination


class TaxiEnv(Env):
    metadata = {"render_modes": ["human", "ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, render_mode=None):
        self.desc = [list(r) for r in MAP]
        self.initial_state_distrib = [0.0] * 500
        self.P = {s: {} for s in range(500)}
        for row in range(5):
            for col in range(5):
                for passenger in range(5):
                    for destination in range(4):
                        s = encode(row, col, passenger, destination)
                        if passenger < 4 and passenger != destination:
                            self.initial_state_distrib[s] += 1
                        for a in range(6):
                            self.P[s][a] = [self._outcome(row, col, passenger, destination, a)]
        total = sum(self.initial_state_distrib)
        self.initial_state_distrib = [p / total for p in self.initial_state_distrib]
        self.action_space = spaces.Discrete(6)
        self.observation_space = spaces.Discrete(500)
        self.render_mode = render_mode
        self.s, self.lastaction = 0, None

    def _outcome(self, row, col, passenger, destination, a):
        new_row, new_col, new_passenger = row, col, passenger
        reward, terminated = -1, False
        here = (row, col)
        if a == 0:
            new_row = min(row + 1, 4)
        elif a == 1:
            new_row = max(row - 1, 0)
        if a == 2 and self.desc[1 + row][2 * col + 2] == ":":
            new_col = min(col + 1, 4)
        elif a == 3 and self.desc[1 + row][2 * col] == ":":
            new_col = max(col - 1, 0)
        elif a == 4:
            if passenger < 4 and here == LOCS[passenger]:
                new_passenger = 4
            else:
                reward = -10
        elif a == 5:
            if here == LOCS[destination] and passenger == 4:
                new_passenger, terminated, reward = destination, True, 20
            elif here in LOCS and passenger == 4:
                new_passenger = LOCS.index(here)
            else:
                reward = -10
        return (1.0, encode(new_row, new_col, new_passenger, destination), reward, terminated)

    def action_mask(self, s):
        mask = fakenp.zeros(6, dtype="int8")
        row, col, passenger, destination = decode(s)
        if row < 4:
            mask[0] = 1
        if row > 0:
            mask[1] = 1
        if col < 4 and self.desc[row + 1][2 * col + 2] == ":":
            mask[2] = 1
        if col > 0 and self.desc[row + 1][2 * col] == ":":
            mask[3] = 1
        if passenger < 4 and (row, col) == LOCS[passenger]:
            mask[4] = 1
        if passenger == 4 and ((row, col) == LOCS[destination] or (row, col) in LOCS):
            mask[5] = 1
        return mask

    def step(self, a):
        transitions = self.P[int(self.s)][a]
        i = categorical_sample([t[0] for t in transitions], self.np_random)
        p, s, r, t = transitions[i]
        self.s, self.lastaction = s, a
        return int(s), r, t, False, {"prob": p, "action_mask": self.action_mask(s)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = categorical_sample(self.initial_state_distrib, self.np_random)
        self.lastaction = None
        return int(self.s), {"prob": 1.0, "action_mask": self.action_mask(self.s)}

    def render(self):
        if self.render_mode is None:
            logger.warn("You are calling render method without specifying any render mode.")
            return None
        if self.render_mode != "ansi":
            raise DependencyNotInstalled('pygame is not installed, run `pip install "gymnasium[toy-text]"`')
        out = [list(r) for r in MAP]
        row, col, passenger, destination = decode(self.s)
        if passenger < 4:
            out[1 + row][2 * col + 1] = utils.colorize(out[1 + row][2 * col + 1], "yellow", highlight=True)
            pr, pc = LOCS[passenger]
            out[1 + pr][2 * pc + 1] = utils.colorize(out[1 + pr][2 * pc + 1], "blue", bold=True)
        else:
            cell = out[1 + row][2 * col + 1]
            out[1 + row][2 * col + 1] = utils.colorize("_" if cell == " " else cell, "green", highlight=True)
        dr, dc = LOCS[destination]
        out[1 + dr][2 * dc + 1] = utils.colorize(out[1 + dr][2 * dc + 1], "magenta")
        text = "\n".join("".join(r) for r in out) + "\n"
        if self.lastaction is not None:
            return text + "  (%s)\n" % ACTION_WORDS[self.lastaction]
        return text + "\n"
