"""retrain gym shim: runs one Gymnasium-style environment in this process and
answers requests about it in JSON lines on stdin/stdout. See PROTOCOL.md
beside the Go package (bridge/gym) for the protocol.

Only the standard library is used. numpy values are encoded without
importing numpy; gymnasium is imported only to make an environment by its
registered id.

The real stdout is kept for protocol lines alone: file descriptor 1 is
pointed at stderr, and sys.stdout with it, so that whatever the environment
prints (from Python or from C) goes to stderr. stdin is likewise replaced by
/dev/null once the protocol's copy of it is taken.
"""

import importlib
import json
import math
import os
import sys
import traceback

PROTOCOL_VERSION = 1


def _take_protocol_streams():
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull, "r")
    return proto_in, proto_out


def jsonable(v, depth=0):
    """Turns v into plain JSON data. numpy arrays and scalars are recognised
    by their tolist/item methods; NaN and infinities become the strings
    "NaN", "Infinity" and "-Infinity"; unknown objects become their repr."""
    if depth > 64:
        return repr(v)
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, dict):
        return {str(k): jsonable(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x, depth + 1) for x in v]
    if isinstance(v, (set, frozenset)):
        return [jsonable(x, depth + 1) for x in sorted(v, key=repr)]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    tolist = getattr(v, "tolist", None)
    if callable(tolist):
        try:
            return jsonable(tolist(), depth + 1)
        except Exception:
            pass
    item = getattr(v, "item", None)
    if callable(item):
        try:
            return jsonable(item(), depth + 1)
        except Exception:
            pass
    return repr(v)


def _flat(v):
    """Flattens a nested list (or numpy array) into a list of numbers."""
    tolist = getattr(v, "tolist", None)
    if callable(tolist):
        v = tolist()
    if isinstance(v, (list, tuple)):
        out = []
        for x in v:
            out.extend(_flat(x))
        return out
    return [v]


def _bounds(v, size):
    """Box bounds: one number when all equal, the flat list when small, else
    None (left out)."""
    flat = [jsonable(float(x)) for x in _flat(v)]
    if flat and all(x == flat[0] for x in flat):
        return flat[0]
    if len(flat) <= 4096:
        return flat
    return None


def _shape(sp):
    shape = getattr(sp, "shape", None)
    if shape is None:
        return None
    return [int(x) for x in shape]


def describe_space(sp, depth=0):
    """Describes a space by its class name and Gymnasium's attribute names,
    so that look-alike spaces without gymnasium work too."""
    name = type(sp).__name__
    if depth > 32:
        return {"type": "unknown", "name": name, "repr": repr(sp)}
    try:
        if name == "Discrete":
            return {"type": "discrete", "n": int(sp.n), "start": int(getattr(sp, "start", 0))}
        if name == "Box":
            shape = _shape(sp) or []
            size = 1
            for d in shape:
                size *= d
            d = {"type": "box", "shape": shape, "dtype": str(getattr(sp, "dtype", "float"))}
            low, high = _bounds(sp.low, size), _bounds(sp.high, size)
            if low is None or high is None:
                d["bounds_omitted"] = True
            else:
                d["low"], d["high"] = low, high
            return d
        if name == "MultiDiscrete":
            nvec = [int(x) for x in _flat(sp.nvec)]
            start = getattr(sp, "start", None)
            start = [int(x) for x in _flat(start)] if start is not None else [0] * len(nvec)
            return {"type": "multi_discrete", "shape": _shape(sp) or [len(nvec)], "nvec": nvec, "starts": start}
        if name == "MultiBinary":
            n = sp.n
            shape = [int(x) for x in _flat(n)]
            return {"type": "multi_binary", "shape": shape}
        if name == "Tuple":
            return {"type": "tuple", "spaces": [describe_space(s, depth + 1) for s in sp.spaces]}
        if name == "Dict":
            keys = list(sp.spaces.keys())
            return {"type": "dict", "keys": [str(k) for k in keys],
                    "spaces": [describe_space(sp.spaces[k], depth + 1) for k in keys]}
        if name == "Text":
            chars = getattr(sp, "characters", None)
            if chars is None:
                chars = "".join(sorted(getattr(sp, "character_set", "")))
            return {"type": "text", "min_length": int(getattr(sp, "min_length", 0)),
                    "max_length": int(sp.max_length), "charset": str(chars)}
    except Exception as e:  # an odd look-alike: describe it loosely
        return {"type": "unknown", "name": name, "repr": repr(sp), "problem": str(e)}
    return {"type": "unknown", "name": name, "repr": repr(sp)}


def to_action(sp, a, depth=0):
    """Converts an action decoded from JSON to what the space expects:
    Python ints for Discrete, tuples for Tuple, and numpy arrays for
    Box/MultiDiscrete/MultiBinary when the environment has imported numpy."""
    name = type(sp).__name__
    if depth > 32:
        return a
    if name == "Discrete":
        return int(a)
    np = sys.modules.get("numpy")
    if name in ("Box", "MultiDiscrete", "MultiBinary"):
        if np is not None:
            dtype = getattr(sp, "dtype", None)
            arr = np.asarray(a, dtype=dtype)
            shape = getattr(sp, "shape", None)
            if shape is not None and arr.shape != tuple(shape) and arr.size == int(np.prod(shape)):
                arr = arr.reshape(shape)
            return arr
        return a
    if name == "Tuple" and isinstance(a, (list, tuple)):
        return tuple(to_action(s, x, depth + 1) for s, x in zip(sp.spaces, a))
    if name == "Dict" and isinstance(a, dict):
        out = {}
        for k, s in sp.spaces.items():
            if str(k) in a:
                out[k] = to_action(s, a[str(k)], depth + 1)
        return out
    return a


def _resolve(module_name, attr):
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _is_dotted_identifier(s):
    return bool(s) and all(p.isidentifier() for p in s.split("."))


def _gym_render_modes(gym, env_id):
    """The render modes a registered environment declares, or None."""
    try:
        spec = gym.spec(env_id)
        ep = spec.entry_point
        if callable(ep):
            creator = ep
        else:
            mod, _, attr = str(ep).partition(":")
            creator = _resolve(mod, attr)
        return list((getattr(creator, "metadata", {}) or {}).get("render_modes", []) or [])
    except Exception:
        return None


def make_env(name, kwargs):
    """Makes the environment: "module:factory" calls factory(**kwargs) when
    module has that callable; anything else is a Gymnasium id, made with
    render_mode="ansi" when the environment declares it."""
    kwargs = dict(kwargs or {})
    module_name, sep, attr = name.partition(":")
    factory_error = None
    if sep and _is_dotted_identifier(module_name) and _is_dotted_identifier(attr):
        try:
            factory = _resolve(module_name, attr)
        except (ImportError, AttributeError) as e:
            factory, factory_error = None, e
        if factory is not None:
            if not callable(factory):
                raise TypeError("%s is not callable" % name)
            return factory(**kwargs)
    try:
        import gymnasium as gym
    except ImportError:
        if factory_error is not None:
            raise factory_error
        raise ImportError(
            "%r is not module:factory and gymnasium is not installed to make it as a registered id "
            "(pip install gymnasium)" % name)
    if "render_mode" not in kwargs:
        modes = _gym_render_modes(gym, name)
        if modes and "ansi" in modes:
            kwargs["render_mode"] = "ansi"
    return gym.make(name, **kwargs)


class Shim:
    def __init__(self):
        self.env = None
        self.name = None

    def render(self):
        """The text render, when the environment renders as ansi."""
        if getattr(self.env, "render_mode", None) != "ansi":
            return None, None
        try:
            r = self.env.render()
        except Exception as e:
            return None, "%s: %s" % (type(e).__name__, e)
        if r is None:
            return None, None
        getvalue = getattr(r, "getvalue", None)  # old envs return a StringIO
        if callable(getvalue):
            r = getvalue()
        if isinstance(r, str):
            return r, None
        return None, None

    def spaces(self):
        return {
            "action_space": describe_space(self.env.action_space),
            "observation_space": describe_space(self.env.observation_space),
        }

    def handle(self, method, params):
        if method == "make":
            if self.env is not None:
                raise RuntimeError("make was already called")
            self.name = str(params.get("env", ""))
            self.env = make_env(self.name, params.get("kwargs") or {})
            out = {"protocol": PROTOCOL_VERSION, "env": self.name,
                   "render_mode": jsonable(getattr(self.env, "render_mode", None)),
                   "python": sys.version.split()[0]}
            out.update(self.spaces())
            return out
        if self.env is None:
            raise RuntimeError("no environment: the first request must be make")
        if method == "spaces":
            return self.spaces()
        if method == "reset":
            seed = params.get("seed")
            options = params.get("options")
            if options is None:
                obs, info = self.env.reset(seed=seed)
            else:
                obs, info = self.env.reset(seed=seed, options=options)
            out = {"observation": jsonable(obs), "info": jsonable(info or {})}
            out["render"], err = self.render()
            if err:
                out["render_error"] = err
            return out
        if method == "step":
            action = to_action(self.env.action_space, params.get("action"))
            obs, reward, terminated, truncated, info = self.env.step(action)
            out = {"observation": jsonable(obs), "reward": jsonable(float(reward)),
                   "terminated": bool(terminated), "truncated": bool(truncated),
                   "info": jsonable(info or {})}
            out["render"], err = self.render()
            if err:
                out["render_error"] = err
            return out
        if method == "render":
            r, err = self.render()
            out = {"render": r}
            if err:
                out["render_error"] = err
            return out
        if method == "close":
            close = getattr(self.env, "close", None)
            if callable(close):
                close()
            return {}
        raise ValueError("unknown method %r" % (method,))


def main():
    proto_in, proto_out = _take_protocol_streams()

    def send(msg):
        line = json.dumps(msg, allow_nan=False, separators=(",", ":")) + "\n"
        proto_out.write(line.encode("utf-8"))
        proto_out.flush()

    shim = Shim()
    while True:
        line = proto_in.readline()
        if not line:
            break  # stdin closed: the bridge is gone
        if not line.strip():
            continue
        rid = None
        method = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            method = req.get("method")
            result = shim.handle(method, req.get("params") or {})
            send({"id": rid, "ok": True, "result": result})
        except Exception as e:
            send({"id": rid, "ok": False, "error": {
                "type": type(e).__name__, "message": str(e), "traceback": traceback.format_exc()}})
        if method == "close":
            break
    sys.stderr.flush()


if __name__ == "__main__":
    main()
