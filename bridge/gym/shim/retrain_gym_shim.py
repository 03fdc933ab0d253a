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
from collections.abc import Mapping

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
    """Turns v into plain JSON data, ints kept as ints. numpy arrays and
    scalars (np.int64, np.float32, np.bool_, …) are recognised by their
    tolist/item methods, so numpy need not be importable; NaN and infinities
    become the strings "NaN", "Infinity" and "-Infinity"; tuples and sets
    become lists; unknown objects become their repr."""
    if depth > 64:
        return repr(v)
    if v is None:
        return None
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):  # int subclasses too (IntEnum)
        return int(v)
    if isinstance(v, float):  # np.float64 subclasses float
        return _float(float(v))
    if isinstance(v, str):
        return str(v)
    if isinstance(v, Mapping):
        return {_key(k): jsonable(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x, depth + 1) for x in v]
    if isinstance(v, (set, frozenset)):
        return [jsonable(x, depth + 1) for x in sorted(v, key=repr)]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    for method in ("tolist", "item"):  # numpy arrays and scalars, and look-alikes
        f = getattr(v, method, None)
        if callable(f):
            try:
                plain = f()
            except Exception:
                continue
            if plain is not v:
                return jsonable(plain, depth + 1)
    return repr(v)


def _float(f):
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def _key(k):
    """A dict key as JSON text: numpy scalar keys by their plain value."""
    if isinstance(k, str):
        return str(k)
    plain = jsonable(k)
    return plain if isinstance(plain, str) else json.dumps(plain)


def reward_value(r):
    """The step's reward as a JSON number (an int stays an int), or one of
    the strings for NaN and the infinities."""
    v = jsonable(r)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)) or v in ("NaN", "Infinity", "-Infinity"):
        return v
    try:
        return _float(float(r))
    except (TypeError, ValueError):
        raise TypeError("the reward must be a number, got %r (%s)" % (r, type(r).__name__))


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


def _declared_render_modes(gym, name):
    """The render modes that the environment registered as name declares,
    read from its creator's metadata as gymnasium.make reads them, without
    making it; None when they cannot be found so (an unversioned id, a
    registry that gymnasium.spec does not answer)."""
    try:
        module, sep, env_id = name.partition(":")
        if not sep:
            module, env_id = "", name
        if module:
            importlib.import_module(module)  # it registers its ids
        ep = gym.spec(env_id).entry_point
        if callable(ep):
            creator = ep
        else:
            mod, _, attr = str(ep).partition(":")
            creator = _resolve(mod, attr)
        modes = (getattr(creator, "metadata", None) or {}).get("render_modes")
        return None if modes is None else [str(m) for m in modes]
    except Exception:
        return None


def _make_gym(gym, name, kwargs):
    """gymnasium.make(name, **kwargs), with render_mode="ansi" when kwargs
    name no render mode and the environment declares "ansi". The modes are
    checked first: make does not refuse a mode the environment lacks, but
    its first render then fails (Blackjack has no "ansi")."""
    if "render_mode" in kwargs:
        return gym.make(name, **kwargs)
    modes = _declared_render_modes(gym, name)
    if modes is not None:
        if "ansi" in modes:
            kwargs["render_mode"] = "ansi"
        return gym.make(name, **kwargs)
    env = gym.make(name, **kwargs)
    modes = (getattr(env, "metadata", None) or {}).get("render_modes") or ()
    if "ansi" in modes:  # make it again, rendering as text
        close = getattr(env, "close", None)
        if callable(close):
            close()
        kwargs["render_mode"] = "ansi"
        env = gym.make(name, **kwargs)
    return env


def max_episode_steps(env):
    """The step limit of gymnasium.make's TimeLimit wrapper (env.spec's
    max_episode_steps, or the wrapper's own count), or None."""
    try:
        n = getattr(getattr(env, "spec", None), "max_episode_steps", None)
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            return n
    except Exception:
        pass
    e = env
    for _ in range(64):
        n = getattr(e, "_max_episode_steps", None)
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            return n
        e = getattr(e, "env", None)
        if e is None:
            break
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
    return _make_gym(gym, name, kwargs)


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
                   "max_episode_steps": max_episode_steps(self.env),
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
            out = {"observation": jsonable(obs), "reward": reward_value(reward),
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
