package sandbox

// loader is the Python program every Python sandbox starts with. It first
// closes every descriptor above 3 (the host process may have inherited some
// without close-on-exec, and bwrap passes them on), then loads the
// interpreter (and, given the argument "warm", as a pool's sandboxes are,
// the modules most code imports), then waits for the code on stdin, framed as its length in bytes, a newline and the source;
// what follows is the code's own stdin. It runs the code as __main__, prints
// an uncaught exception's traceback without the loader's frame, and exits
// the way Python does (threads joined, atexit handlers run, output flushed)
// but without tearing the interpreter down, which only costs time. On
// descriptor 3 it tells the host "r" once loaded (a warm pool offers only
// loaded sandboxes) and "d" once the code has finished (which buys the
// sandbox's teardown some time on a loaded machine).
const loader = `import os
os.closerange(4, os.sysconf("SC_OPEN_MAX"))
import sys, threading, atexit
if sys.argv[1:] == ["warm"]:
    import traceback, typing, collections, itertools, functools, math, re, json
def _finish(code):
    try:
        threading._shutdown()
    except BaseException:
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except BaseException:
            pass
    try:
        os.write(3, b"d")
    except BaseException:
        pass
    os._exit(code)
def _exit_code(e):
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xff
    try:
        print(e.code, file=sys.stderr)
    except BaseException:
        pass
    return 1
def _run(src):
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(src, "main.py", "exec")
    except SyntaxError as e:
        import traceback
        traceback.print_exception(type(e), e, None)
        return 1
    try:
        exec(code, g)
    except SystemExit as e:
        return _exit_code(e)
    except BaseException as e:
        tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
        try:
            import traceback
            traceback.print_exception(type(e), e, tb)
        except BaseException:
            pass
        return 1
    return 0
try:
    os.write(3, b"r")
except BaseException:
    pass
_h = sys.stdin.buffer.readline()
if not _h:
    os._exit(0)
_src = sys.stdin.buffer.read(int(_h))
del _h
sys.argv = ["main.py"]
_finish(_run(_src))
`

// execTrampoline runs a command of [Sandbox.Exec] after closing every
// descriptor above 2, as the loader does.
const execTrampoline = `import os, sys
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execv(sys.argv[1], sys.argv[1:])
`
