#!/bin/sh
# A "python" that prints something that is not the protocol before running
# the real interpreter.
echo "this is not JSON"
exec python3 "$@"
