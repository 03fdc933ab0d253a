"""Gymnasium's logger: warnings go to stderr."""

import sys


def warn(msg, *args):
    sys.stderr.write("WARN: %s\n" % (msg % args if args else msg))
