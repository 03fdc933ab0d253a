"""Environments that misbehave, for the bridge's failure handling."""

import os
import subprocess
import sys
import time

from minispaces import Discrete, Env


class Counter(Env):
    """Counts steps; the episode terminates after `steps` steps."""

    def __init__(self, steps=3):
        self.steps = steps
        self.action_space = Discrete(2)
        self.observation_space = Discrete(100)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, a):
        self.t += 1
        return self.t, 1.0, self.t >= self.steps, False, {}


class Noisy(Counter):
    """Prints to stdout from Python and from the file descriptor."""

    def __init__(self, **kw):
        print("noisy: made")
        super().__init__(**kw)

    def reset(self, **kw):
        print("noisy: reset", flush=True)
        os.write(1, b"noisy: raw write to fd 1\n")
        sys.__stdout__.write("noisy: sys.__stdout__\n")
        sys.__stdout__.flush()
        return super().reset(**kw)

    def step(self, a):
        print("{not json either")
        return super().step(a)


class Hang(Counter):
    """Hangs in step when the action is 1, after saying so on stderr."""

    def step(self, a):
        if a == 1:
            print("hang: hanging in step", file=sys.stderr, flush=True)
            time.sleep(3600)
        return super().step(a)


class Crash(Counter):
    """Exits abruptly on the second step; raises on action 1."""

    def step(self, a):
        if a == 1:
            raise ValueError("action 1 is forbidden")
        if self.t == 1:
            sys.stderr.write("crash: about to die\n")
            sys.stderr.flush()
            os._exit(3)
        return super().step(a)


class Spawn(Counter):
    """Starts a child process that would outlive a careless parent; its
    pid is in the reset info."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.child = subprocess.Popen(["sleep", "1000"])

    def reset(self, **kw):
        obs, info = super().reset(**kw)
        info["child_pid"] = self.child.pid
        return obs, info


class NaNReward(Counter):
    def step(self, a):
        obs, _, term, trunc, info = super().step(a)
        return obs, float("nan"), term, trunc, info


def counter(**kw):
    return Counter(**kw)


def noisy(**kw):
    return Noisy(**kw)


def hang(**kw):
    return Hang(**kw)


def crash(**kw):
    return Crash(**kw)


def spawn(**kw):
    return Spawn(**kw)


def nan_reward(**kw):
    return NaNReward(**kw)


def broken_make(**kw):
    raise RuntimeError("cannot make this environment")
