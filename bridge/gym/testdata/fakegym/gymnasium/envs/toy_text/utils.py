"""categorical_sample, as Gymnasium's toy-text environments draw their
transitions: one uniform draw per call, even when one outcome is certain."""

import fakenp


def categorical_sample(prob_n, np_random):
    """Index of the first cumulative probability above one uniform draw, as
    an int64 scalar (numpy's argmax gives one)."""
    u = float(np_random.random())
    total = 0.0
    for i, p in enumerate(prob_n):
        total += float(p)
        if total > u:
            return fakenp.int64(i)
    return fakenp.int64(0)
