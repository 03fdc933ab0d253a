"""A stand-in for the gymnasium package, for the bridge's tests on machines
without gymnasium or numpy. It has what the shim and the toy-text stand-ins
use, with Gymnasium's names and behaviour: make, spec, register and the
registry (with the toy-text ids and their max_episode_steps), Env and
Wrapper, the wrappers make applies (PassiveEnvChecker, OrderEnforcing,
TimeLimit), spaces, utils.seeding and utils.colorize. It is written from
Gymnasium's documented behaviour, not copied from it; numbers are drawn by
Python's random module, so seeded episodes differ from real Gymnasium's."""

from gymnasium import error, logger, spaces, utils
from gymnasium.core import Env, Wrapper
from gymnasium.envs.registration import EnvSpec, make, register, registry, spec
import gymnasium.envs  # noqa: F401  registers the toy-text stand-ins

__version__ = "0.0.0+retrain.stand.in"
