package sandbox

// loader is the Python program every Python sandbox starts with: it loads
// the interpreter, then waits for the code on stdin, framed as its length in
// bytes, a newline and the source; what follows is the code's own stdin. It
// runs the code as __main__ and prints an uncaught exception's traceback
// without the loader's frame.
const loader = `import sys
_h = sys.stdin.buffer.readline()
if not _h:
    sys.exit(0)
_src = sys.stdin.buffer.read(int(_h))
del _h
def _run(src):
    import traceback
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(src, "main.py", "exec")
    except SyntaxError as e:
        traceback.print_exception(type(e), e, None)
        sys.exit(1)
    try:
        exec(code, g)
    except SystemExit:
        raise
    except BaseException as e:
        tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
        traceback.print_exception(type(e), e, tb)
        sys.stderr.flush()
        sys.exit(1)
sys.argv = ["main.py"]
_run(_src)
`
