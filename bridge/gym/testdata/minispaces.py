"""Look-alikes of Gymnasium's spaces and Env base class, for test
environments that run without gymnasium or numpy. The shim recognises
spaces by class name and Gymnasium's attribute names."""

import random


class Discrete:
    def __init__(self, n, start=0):
        self.n, self.start = n, start


class Box:
    def __init__(self, low, high, shape, dtype="float32"):
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape), dtype


class MultiDiscrete:
    def __init__(self, nvec, start=None):
        self.nvec = list(nvec)
        self.start = list(start) if start is not None else [0] * len(self.nvec)
        self.shape = (len(self.nvec),)


class MultiBinary:
    def __init__(self, n):
        self.n = n
        self.shape = (n,)


class Tuple:
    def __init__(self, spaces):
        self.spaces = tuple(spaces)


class Dict:
    def __init__(self, spaces):
        self.spaces = dict(spaces)


class Text:
    def __init__(self, max_length, min_length=1, charset="abcdefghijklmnopqrstuvwxyz"):
        self.max_length, self.min_length = max_length, min_length
        self.characters = "".join(sorted(charset))


class Env:
    """Seeding as in Gymnasium: reset(seed=s) reseeds the generator;
    reset() without a seed keeps the current one (seeding it randomly the
    first time)."""

    render_mode = None
    np_random = None

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.np_random = random.Random(seed)
        elif self.np_random is None:
            self.np_random = random.Random()

    def render(self):
        return None

    def close(self):
        pass
