"""Gymnasium's spaces with the attributes the shim reads, holding numpy-like
values (fakenp) where Gymnasium holds numpy ones: Discrete.n and .start are
int64 scalars, Box bounds and MultiDiscrete.nvec are arrays."""

import fakenp


def _is_integer(x):
    return isinstance(x, int) and not isinstance(x, bool) or isinstance(x, (fakenp.int64, fakenp.int8))


class Space:
    shape = None
    dtype = None

    def contains(self, x):
        raise NotImplementedError

    def __contains__(self, x):
        return self.contains(x)


class Discrete(Space):
    """The integers start … start+n-1. contains accepts Python and numpy
    integers only (not floats), as Gymnasium's does."""

    def __init__(self, n, seed=None, start=0):
        assert _is_integer(n) and int(n) > 0, "n (counts) have to be positive"
        self.n = fakenp.int64(n)
        self.start = fakenp.int64(start)
        self.shape = ()
        self.dtype = "int64"

    def contains(self, x):
        if not _is_integer(x):
            return False
        return int(self.start) <= int(x) < int(self.start) + int(self.n)

    def __repr__(self):
        if int(self.start) != 0:
            return "Discrete(%d, start=%d)" % (int(self.n), int(self.start))
        return "Discrete(%d)" % int(self.n)


class Tuple(Space):
    def __init__(self, spaces):
        self.spaces = tuple(spaces)

    def contains(self, x):
        if isinstance(x, list):
            x = tuple(x)
        return isinstance(x, tuple) and len(x) == len(self.spaces) and all(s.contains(v) for s, v in zip(self.spaces, x))

    def __repr__(self):
        return "Tuple(" + ", ".join(repr(s) for s in self.spaces) + ")"


class Dict(Space):
    def __init__(self, spaces):
        self.spaces = dict(spaces)

    def contains(self, x):
        return isinstance(x, dict) and x.keys() == self.spaces.keys() and all(s.contains(x[k]) for k, s in self.spaces.items())


class Box(Space):
    """low and high are arrays of the dtype (one per element, flattened)."""

    def __init__(self, low, high, shape, dtype="float32"):
        self.shape = tuple(shape)
        size = 1
        for d in self.shape:
            size *= d
        self.dtype = dtype
        self.low = fakenp.ndarray(low if isinstance(low, list) else [low] * size, dtype)
        self.high = fakenp.ndarray(high if isinstance(high, list) else [high] * size, dtype)


class MultiDiscrete(Space):
    def __init__(self, nvec, start=None):
        self.nvec = fakenp.ndarray(nvec, "int64")
        self.start = fakenp.ndarray(start if start is not None else [0] * len(nvec), "int64")
        self.shape = (len(nvec),)
        self.dtype = "int64"


class MultiBinary(Space):
    def __init__(self, n):
        self.n = n
        self.shape = (n,)
        self.dtype = "int8"


class Text(Space):
    def __init__(self, max_length, min_length=1, charset="abcdefghijklmnopqrstuvwxyz"):
        self.max_length, self.min_length = max_length, min_length
        self.character_set = frozenset(charset)
        self.characters = "".join(sorted(self.character_set))
