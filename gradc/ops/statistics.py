"""Spread along an axis: var and std, with NumPy's `ddof` (the divisor is N - ddof)."""
import numpy as np

from gradc import shapes
from gradc.ops.domain import Domain
from gradc.ops.formula import function
from gradc.ops.reduce import count, slice_rules
from gradc.ops.registry import Op, call, defop

# np.var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False): axis alone is taken positionally here.
SPREAD = (("axis", None), ("ddof", 0), ("keepdims", False))
# NOTE: draws are distinct, so std > 0 there; where a slice is constant std is 0 and its gradient is nan, as in
# JAX (0/0: std is not differentiable there, the kink of sqrt at 0), while var's gradient is 0.
SPREAD_DOMAIN = Domain(-2.0, 2.0)


def _centered(x, axis):
    return x - call("mean", x, axis=axis, keepdims=True)


def _divisor(x, axis, ddof):
    """N - ddof, N the number of elements in each slice (a size when dimensions are names)."""
    reduced = tuple(x.shape[a] for a in shapes.normalize_axes(x.shape, axis))
    total = count(x, reduced)
    return total - ddof if ddof else total


def _var_slope(out, x, *, axis, ddof, keepdims):
    """d var / d x_i = 2 (x_i - mean) / (N - ddof)"""
    return 2 * _centered(x, axis) / _divisor(x, axis, ddof)


def _std_slope(out, x, *, axis, ddof, keepdims):
    """d std / d x_i = (x_i - mean) / ((N - ddof) std)"""
    return _centered(x, axis) / (_divisor(x, axis, ddof) * out)


_VAR_VJP, _VAR_JVP = slice_rules(_var_slope)
_STD_VJP, _STD_JVP = slice_rules(_std_slope)


def _shape(name):
    return lambda x, *, axis, ddof, keepdims: shapes.reduce(x, axis, keepdims, name)


VAR = defop(Op(name="var", arity=1, shape=_shape("var"),
               impl=lambda x, *, axis=None, ddof=0, keepdims=False: np.var(x, axis=axis, ddof=ddof, keepdims=keepdims),
               vjp=_VAR_VJP, jvp=_VAR_JVP, symbol="var", scalar_adjoint=True, names=("var",),
               keywords=SPREAD, doc="var(x, axis=None, ddof=0) = sum((x - mean(x))**2) / (N - ddof)",
               formula=function("var", r"\operatorname{Var}"), domain=(SPREAD_DOMAIN,)))
STD = defop(Op(name="std", arity=1, shape=_shape("std"),
               impl=lambda x, *, axis=None, ddof=0, keepdims=False: np.std(x, axis=axis, ddof=ddof, keepdims=keepdims),
               vjp=_STD_VJP, jvp=_STD_JVP, symbol="std", scalar_adjoint=True, names=("std",),
               keywords=SPREAD, doc="std(x, axis=None, ddof=0) = sqrt(var(x, axis, ddof)); its gradient is nan where "
                                    "std = 0",
               formula=function("std", r"\operatorname{std}"), domain=(SPREAD_DOMAIN,)))
