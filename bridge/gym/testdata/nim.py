"""Two-player Nim: one pile of stones, each player takes 1 to 3; whoever
takes the last stone wins. The pile's size is drawn from the seeded
generator. It follows the bridge's two-player convention: info carries
current_player and legal_actions, and a step's reward is the mover's."""

from minispaces import Discrete, Env


class Nim(Env):
    metadata = {"render_modes": ["ansi"]}

    def __init__(self, render_mode="ansi", low=7, high=15, per_player_rewards=False):
        self.render_mode = render_mode
        self.low, self.high = low, high
        self.per_player_rewards = per_player_rewards
        self.action_space = Discrete(3, start=1)
        self.observation_space = Discrete(high + 1)
        self.pile, self.player = 0, 0

    def _info(self):
        return {
            "current_player": self.player,
            "legal_actions": [k for k in (1, 2, 3) if k <= self.pile],
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pile = self.np_random.randint(self.low, self.high)
        self.player = 0
        return self.pile, self._info()

    def step(self, a):
        if a not in (1, 2, 3) or a > self.pile:
            raise ValueError("illegal move %r with %d stones" % (a, self.pile))
        self.pile -= a
        mover = self.player
        self.player = 1 - self.player
        info = self._info()
        if self.pile == 0:
            if self.per_player_rewards:
                rewards = [0.0, 0.0]
                rewards[mover], rewards[1 - mover] = 1.0, -1.0
                info["rewards"] = rewards
            return 0, 1.0, True, False, info
        return self.pile, 0.0, False, False, info

    def render(self):
        return "Stones: %s (%d)\nPlayer %d to move" % ("|" * self.pile, self.pile, self.player)
