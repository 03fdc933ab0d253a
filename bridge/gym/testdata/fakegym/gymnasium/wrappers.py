"""The wrappers gymnasium.make applies, innermost first: PassiveEnvChecker,
OrderEnforcing, TimeLimit."""

import copy

from gymnasium import error, logger
from gymnasium.core import Wrapper


class PassiveEnvChecker(Wrapper):
    """Checks the first reset, step and render. As Gymnasium's, it asserts
    that a render mode the environment was made with is one of
    metadata["render_modes"] (so rendering an unsupported mode raises
    AssertionError), and warns about odd return types."""

    def __init__(self, env):
        super().__init__(env)
        self._checked_reset = self._checked_step = self._checked_render = False

    def reset(self, *, seed=None, options=None):
        result = self.env.reset(seed=seed, options=options)
        if not self._checked_reset:
            self._checked_reset = True
            assert isinstance(result, tuple) and len(result) == 2, "reset must return (obs, info)"
            assert isinstance(result[1], dict), "the info returned by reset must be a dict"
        return result

    def step(self, action):
        result = self.env.step(action)
        if not self._checked_step:
            self._checked_step = True
            if len(result) != 5:
                raise error.Error("Expected Env.step to return a five element tuple, got %d" % len(result))
            _, reward, terminated, truncated, info = result
            for name, v in (("terminated", terminated), ("truncated", truncated)):
                if not isinstance(v, bool) and type(v).__name__ != "bool_":
                    logger.warn("Expects `%s` signal to be a boolean, actual type: %s", name, type(v))
            if not isinstance(reward, (int, float)) and not hasattr(reward, "item"):
                logger.warn("The reward returned by step() must be a number, actual type: %s", type(reward))
            assert isinstance(info, dict), "the info returned by step must be a dict"
        return result

    def render(self):
        if not self._checked_render:
            self._checked_render = True
            modes = self.env.metadata.get("render_modes")
            if modes is None:
                logger.warn("No render modes was declared in the environment")
            elif len(modes) == 0:
                assert self.env.render_mode is None, (
                    "With no render_modes, expects the Env.render_mode to be None, actual value: %s" % self.env.render_mode)
            else:
                assert self.env.render_mode is None or self.env.render_mode in modes, (
                    "The environment was made with the unsupported render mode %r; its modes are %s"
                    % (self.env.render_mode, modes))
        return self.env.render()


class OrderEnforcing(Wrapper):
    """Raises ResetNeeded when step or render comes before the first reset."""

    def __init__(self, env):
        super().__init__(env)
        self._has_reset = False

    def step(self, action):
        if not self._has_reset:
            raise error.ResetNeeded("Cannot call env.step() before calling env.reset()")
        return self.env.step(action)

    def reset(self, *, seed=None, options=None):
        self._has_reset = True
        return self.env.reset(seed=seed, options=options)

    def render(self):
        if not self._has_reset:
            raise error.ResetNeeded("Cannot call `env.render()` before calling `env.reset()`")
        return self.env.render()


class TimeLimit(Wrapper):
    """Truncates the episode at its max_episode_steps-th step (truncated is
    then True, whatever terminated is); reset starts the count again."""

    def __init__(self, env, max_episode_steps):
        assert isinstance(max_episode_steps, int) and max_episode_steps > 0, (
            "Expect the max_episode_steps to be a positive integer, got %r" % (max_episode_steps,))
        super().__init__(env)
        self._max_episode_steps = max_episode_steps
        self._elapsed_steps = None

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._elapsed_steps += 1
        if self._elapsed_steps >= self._max_episode_steps:
            truncated = True
        return obs, reward, terminated, truncated, info

    def reset(self, *, seed=None, options=None):
        self._elapsed_steps = 0
        return self.env.reset(seed=seed, options=options)

    @property
    def spec(self):
        s = self.env.spec
        if s is None:
            return None
        s = copy.copy(s)
        s.max_episode_steps = self._max_episode_steps
        return s
