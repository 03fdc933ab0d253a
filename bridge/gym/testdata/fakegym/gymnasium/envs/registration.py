"""Gymnasium's registry and make, as documented: make(id) finds the spec
("module:Name-vN" imports module first; an unversioned id takes the latest
version), merges the registered kwargs with the given ones, makes the
environment with its entry point (warning, not failing, on a render_mode
the environment does not declare), and wraps it in PassiveEnvChecker,
OrderEnforcing and TimeLimit (max_episode_steps: make's argument, else
the registered one; -1 means none)."""

import copy
import importlib
import re

from gymnasium import error, logger

registry = {}

_ID = re.compile(r"^(?:(?P<ns>[\w:.-]+)/)?(?P<name>[\w:.-]+?)(?:-v(?P<version>\d+))?$")


class EnvSpec:
    def __init__(self, id, entry_point=None, reward_threshold=None, nondeterministic=False,
                 max_episode_steps=None, order_enforce=True, disable_env_checker=False, kwargs=None):
        self.id = id
        self.entry_point = entry_point
        self.reward_threshold = reward_threshold
        self.nondeterministic = nondeterministic
        self.max_episode_steps = max_episode_steps
        self.order_enforce = order_enforce
        self.disable_env_checker = disable_env_checker
        self.kwargs = dict(kwargs or {})
        m = _ID.match(id)
        self.namespace, self.name = m.group("ns"), m.group("name")
        self.version = int(m.group("version")) if m.group("version") else None

    def __repr__(self):
        return "EnvSpec(id=%r, entry_point=%r, max_episode_steps=%r, kwargs=%r)" % (
            self.id, self.entry_point, self.max_episode_steps, self.kwargs)


def register(id, entry_point=None, reward_threshold=None, nondeterministic=False,
             max_episode_steps=None, order_enforce=True, disable_env_checker=False, kwargs=None):
    registry[id] = EnvSpec(id, entry_point, reward_threshold, nondeterministic,
                           max_episode_steps, order_enforce, disable_env_checker, kwargs)


def spec(env_id):
    """The registered spec of env_id exactly (no module prefix, no version
    fallback), as gymnasium.spec does."""
    s = registry.get(env_id)
    if s is None:
        raise error.Error("No registered env with id: %s" % env_id)
    return s


def _find_spec(env_id):
    module, _, name = env_id.rpartition(":")
    if module:
        importlib.import_module(module)
    s = registry.get(name)
    if s is None:
        m = _ID.match(name)
        if m and m.group("version") is None:
            versions = [x for x in registry.values() if x.namespace == m.group("ns") and x.name == m.group("name") and x.version is not None]
            if versions:
                s = max(versions, key=lambda x: x.version)
                logger.warn("Using the latest versioned environment `%s` instead of the unversioned environment `%s`.", s.id, name)
    if s is None:
        raise error.Error("No registered env with id: %s. Did you register it, or import the package that registers it?" % name)
    return s


def _load(entry_point):
    if callable(entry_point):
        return entry_point
    mod, _, attr = entry_point.partition(":")
    return getattr(importlib.import_module(mod), attr)


def make(id, max_episode_steps=None, disable_env_checker=None, **kwargs):
    from gymnasium import wrappers
    from gymnasium.core import Env

    s = id if isinstance(id, EnvSpec) else _find_spec(id)
    env_kwargs = copy.deepcopy(s.kwargs)
    env_kwargs.update(kwargs)
    if s.entry_point is None:
        raise error.Error("%s registered but entry_point is not specified" % s.id)
    creator = _load(s.entry_point)
    modes = getattr(creator, "metadata", {}).get("render_modes")
    mode = env_kwargs.get("render_mode")
    if mode is not None and modes is not None and mode not in modes:
        logger.warn("The environment is being initialised with render_mode=%r that is not in the possible render_modes (%s).", mode, modes)
    try:
        env = creator(**env_kwargs)
    except TypeError as e:
        raise type(e)("%s was raised from the environment creator for %s with kwargs (%s)" % (e, s.id, env_kwargs))
    if not isinstance(env, Env):
        raise TypeError("The environment must inherit from the gymnasium.Env class, actual class: %s" % type(env))
    env.unwrapped.spec = EnvSpec(s.id, s.entry_point, s.reward_threshold, s.nondeterministic,
                                 None, False, True, env_kwargs)
    if disable_env_checker is False or (disable_env_checker is None and not s.disable_env_checker):
        env = wrappers.PassiveEnvChecker(env)
    if s.order_enforce:
        env = wrappers.OrderEnforcing(env)
    if max_episode_steps != -1:
        if max_episode_steps is not None:
            env = wrappers.TimeLimit(env, max_episode_steps)
        elif s.max_episode_steps is not None:
            env = wrappers.TimeLimit(env, s.max_episode_steps)
    return env
