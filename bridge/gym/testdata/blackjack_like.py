"""A stand-in for Gymnasium's Blackjack (toy_text/blackjack.py), written
from its documented behaviour for tests without numpy.

- Actions 0 stick, 1 hit; step asserts action_space.contains(action), so a
  float action fails as it does in Gymnasium.
- Observations are tuples of Python ints (player sum, dealer's showing
  card 1-10, usable ace 0/1); rewards floats; infos empty.
- Cards come from an infinite deck drawn with np_random.choice; reset then
  draws the dealer's card suit (and J/Q/K for a ten) for the picture.
- render_modes are human and rgb_array only (no ansi); rendering needs
  pygame, which the stand-in never has."""

from gymnasium import Env, logger, spaces
from gymnasium.error import DependencyNotInstalled

DECK = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10]


def _cmp(a, b):
    return float(a > b) - float(a < b)


def draw_card(np_random):
    return int(np_random.choice(DECK))


def usable_ace(hand):
    return int(1 in hand and sum(hand) + 10 <= 21)


def sum_hand(hand):
    return sum(hand) + 10 if usable_ace(hand) else sum(hand)


def is_bust(hand):
    return sum_hand(hand) > 21


def score(hand):
    return 0 if is_bust(hand) else sum_hand(hand)


def is_natural(hand):
    return sorted(hand) == [1, 10]


class BlackjackEnv(Env):
    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}

    def __init__(self, render_mode=None, natural=False, sab=False):
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11), spaces.Discrete(2)))
        self.natural, self.sab = natural, sab
        self.render_mode = render_mode

    def step(self, action):
        assert self.action_space.contains(action), "%r (%s) is not in %r" % (action, type(action).__name__, self.action_space)
        if action:
            self.player.append(draw_card(self.np_random))
            terminated = is_bust(self.player)
            reward = -1.0 if terminated else 0.0
        else:
            terminated = True
            while sum_hand(self.dealer) < 17:
                self.dealer.append(draw_card(self.np_random))
            reward = _cmp(score(self.player), score(self.dealer))
            if self.sab and is_natural(self.player) and not is_natural(self.dealer):
                reward = 1.0
            elif not self.sab and self.natural and is_natural(self.player) and reward == 1.0:
                reward = 1.5
        return self._get_obs(), reward, terminated, False, {}

    def _get_obs(self):
        return (sum_hand(self.player), self.dealer[0], usable_ace(self.player))

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.dealer = [draw_card(self.np_random), draw_card(self.np_random)]
        self.player = [draw_card(self.np_random), draw_card(self.np_random)]
        self.dealer_top_card_suit = self.np_random.choice(["C", "D", "H", "S"])
        if self.dealer[0] == 1:
            self.dealer_top_card_value_str = "A"
        elif self.dealer[0] == 10:
            self.dealer_top_card_value_str = self.np_random.choice(["J", "Q", "K"])
        else:
            self.dealer_top_card_value_str = str(self.dealer[0])
        return self._get_obs(), {}

    def render(self):
        if self.render_mode is None:
            logger.warn("You are calling render method without specifying any render mode.")
            return None
        raise DependencyNotInstalled('pygame is not installed, run `pip install "gymnasium[toy-text]"`')
