"""Gymnasium's seeding.np_random, on Python's random module (numpy's PCG64
is not available): the same seed gives the same draws, but not numpy's."""

import random

import fakenp
from gymnasium import error


class Generator:
    """The part of numpy.random.Generator the toy-text stand-ins use."""

    def __init__(self, seed):
        self._r = random.Random(seed)

    def random(self):
        return fakenp.float64(self._r.random())

    def integers(self, low, high=None):
        if high is None:
            low, high = 0, low
        return fakenp.int64(self._r.randrange(int(low), int(high)))

    def choice(self, seq):
        v = seq[self._r.randrange(len(seq))]
        return fakenp.int64(v) if isinstance(v, int) else v


def np_random(seed=None):
    """Returns (generator, seed). Like Gymnasium's, a seed must be a
    non-negative Python int; None draws one at random."""
    if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise error.Error("Seed must be a python integer, actual type: %s" % type(seed))
        raise error.Error("Seed must be greater or equal to zero, actual value: %s" % seed)
    if seed is None:
        seed = random.SystemRandom().randrange(2**63)
    return Generator(seed), seed
