"""Look-alikes of the numpy values that Gymnasium environments hand out, for
tests that run without numpy. Like numpy's, they are not Python ints or
bools (except float64, which subclasses float as numpy's does): code that
encodes them must go through item() or tolist(), or int()/float()/bool().
Their reprs are numpy 2's (np.int64(3), np.True_), so that a value encoded
by its repr shows up in a test.

This module is deliberately not called numpy: the shim must not take it
for numpy."""


class _Number:
    """A numpy scalar look-alike holding a Python number."""

    __slots__ = ("_v",)
    _name = "generic"
    _cast = staticmethod(lambda v: v)

    def __init__(self, v=0):
        if isinstance(v, _Number):
            v = v._v
        self._v = self._cast(v)

    def item(self):
        return self._v

    def tolist(self):
        return self._v

    def __repr__(self):
        return "np.%s(%r)" % (self._name, self._v)

    def __str__(self):
        return str(self._v)

    def __int__(self):
        return int(self._v)

    def __float__(self):
        return float(self._v)

    def __bool__(self):
        return bool(self._v)

    def __hash__(self):
        return hash(self._v)

    def __eq__(self, other):
        return self._v == _plain(other)

    def __ne__(self, other):
        return self._v != _plain(other)

    def __lt__(self, other):
        return self._v < _plain(other)

    def __le__(self, other):
        return self._v <= _plain(other)

    def __gt__(self, other):
        return self._v > _plain(other)

    def __ge__(self, other):
        return self._v >= _plain(other)


class _Integer(_Number):
    __slots__ = ()
    _cast = staticmethod(int)

    def __index__(self):
        return self._v

    def _wrap(self, v):
        return type(self)(v)

    def __add__(self, o):
        return self._wrap(self._v + _plain(o))

    __radd__ = __add__

    def __sub__(self, o):
        return self._wrap(self._v - _plain(o))

    def __rsub__(self, o):
        return self._wrap(_plain(o) - self._v)

    def __mul__(self, o):
        return self._wrap(self._v * _plain(o))

    __rmul__ = __mul__

    def __floordiv__(self, o):
        return self._wrap(self._v // _plain(o))

    def __mod__(self, o):
        return self._wrap(self._v % _plain(o))

    def __neg__(self):
        return self._wrap(-self._v)


class int64(_Integer):
    """numpy.int64: what numpy's integer arithmetic and indexing give."""

    __slots__ = ()
    _name = "int64"


class int8(_Integer):
    """numpy.int8: the elements of Taxi's action mask."""

    __slots__ = ()
    _name = "int8"


class float32(_Number):
    """numpy.float32, which (unlike float64) is not a Python float."""

    __slots__ = ()
    _name = "float32"
    _cast = staticmethod(float)


class float64(float):
    """numpy.float64, which subclasses Python's float."""

    def item(self):
        return float(self)

    def tolist(self):
        return float(self)

    def __repr__(self):
        return "np.float64(%s)" % float.__repr__(self)


class bool_:
    """numpy.bool_, which is neither a bool nor an int."""

    __slots__ = ("_v",)

    def __init__(self, v=False):
        self._v = bool(v._v if isinstance(v, bool_) else v)

    def item(self):
        return self._v

    def tolist(self):
        return self._v

    def __bool__(self):
        return self._v

    def __repr__(self):
        return "np.True_" if self._v else "np.False_"

    def __hash__(self):
        return hash(self._v)

    def __eq__(self, other):
        return bool_(self._v == _plain(other))


_DTYPES = {"int64": int64, "int8": int8, "float32": float32, "float64": float64, "bool": bool_}


class ndarray:
    """A one- or two-dimensional numpy array look-alike: indexing gives the
    dtype's scalars, tolist() plain Python values."""

    def __init__(self, values, dtype="int64"):
        self.dtype = dtype
        cast = _DTYPES[dtype]
        rows = list(values)
        if rows and isinstance(rows[0], (list, tuple)):
            self.shape = (len(rows), len(rows[0]))
            self._flat = [cast(v) for row in rows for v in row]
        else:
            self.shape = (len(rows),)
            self._flat = [cast(v) for v in rows]

    @property
    def size(self):
        return len(self._flat)

    def tolist(self):
        plain = [v.item() for v in self._flat]
        if len(self.shape) == 1:
            return plain
        n = self.shape[1]
        return [plain[i:i + n] for i in range(0, len(plain), n)]

    def item(self):
        if len(self._flat) != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._flat[0].item()

    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        if len(self.shape) == 1:
            return iter(self._flat)
        n = self.shape[1]
        return iter(ndarray([v.item() for v in self._flat[i:i + n]], self.dtype) for i in range(0, self.size, n))

    def __getitem__(self, i):
        if len(self.shape) != 1:
            raise NotImplementedError("fakenp indexes one-dimensional arrays only")
        return self._flat[i]

    def __setitem__(self, i, v):
        if len(self.shape) != 1:
            raise NotImplementedError("fakenp indexes one-dimensional arrays only")
        self._flat[i] = _DTYPES[self.dtype](_plain(v))

    def __bool__(self):
        if len(self._flat) != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous.")
        return bool(self._flat[0])

    def __repr__(self):
        return "array(%r, dtype=%s)" % (self.tolist(), self.dtype)


def zeros(n, dtype="float64"):
    """numpy.zeros for a one-dimensional shape."""
    return ndarray([0] * n, dtype)


def _plain(v):
    item = getattr(v, "item", None)
    if callable(item) and not isinstance(v, ndarray):
        return item()
    return v
