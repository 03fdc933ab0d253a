"""Gymnasium's utils: colorize (terminal colours for ansi renders)."""

_COLORS = {"gray": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34,
           "magenta": 35, "cyan": 36, "white": 37, "crimson": 38}


def colorize(string, color, bold=False, highlight=False):
    """Wraps string in an SGR escape: the colour's code (plus 10 for a
    background highlight), then 1 when bold; reset with ESC[0m."""
    code = _COLORS[color] + (10 if highlight else 0)
    params = [str(code)] + (["1"] if bold else [])
    return "\x1b[" + ";".join(params) + "m" + string + "\x1b[0m"
