"""softmax, log_softmax and logsumexp: composite ops with stable derivatives, lowered before emission."""
import numpy as np

from gradc import shapes
from gradc.ops.domain import ANY
from gradc.ops.formula import function
from gradc.ops.registry import Op, call, defop
from gradc.ops.reduce import expand_reduced


def _peak(x, axis):
    """The max along axis, kept, where it is finite; 0 where it is not (an all -inf row, or one holding +inf):
    shifting by it, an all -inf row has logsumexp -inf and a row holding +inf has +inf, not inf - inf = nan."""
    peak = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(peak), peak, 0.0)


def _logsumexp(x, *, axis, keepdims=False):
    peak = _peak(x, axis)
    total = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return total if keepdims else total.reshape(np.sum(x, axis=axis).shape)


def _softmax(x, *, axis):
    e = np.exp(x - _peak(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, *, axis):
    shifted = x - _peak(x, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _check_axis(x, axis, name):
    if axis is not None:
        shapes.normalize_axes(x, axis, name)
    return x


SOFTMAX = defop(Op(name="softmax", arity=1, shape=lambda x, *, axis: _check_axis(x, axis, "softmax"),
                   impl=_softmax,
                   vjp=lambda g, out, x, *, axis: (out * (g - call("sum", g * out, axis=axis, keepdims=True)),),
                   jvp=lambda t, out, x, *, axis: out * (t[0] - call("sum", t[0] * out, axis=axis, keepdims=True)),
                   symbol="softmax", doc="softmax(x, axis=-1) = exp(x) / sum(exp(x), axis)",
                   names=("softmax",), keywords=(("axis", -1),), formula=function("softmax"), domain=(ANY,),
                   defined_everywhere=True))
LOG_SOFTMAX = defop(Op(name="log_softmax", arity=1, shape=lambda x, *, axis: _check_axis(x, axis, "log_softmax"),
                       impl=_log_softmax,
                       vjp=lambda g, out, x, *, axis: (
                           g - call("softmax", x, axis=axis) * call("sum", g, axis=axis, keepdims=True),),
                       jvp=lambda t, out, x, *, axis: (
                           t[0] - call("sum", call("softmax", x, axis=axis) * t[0], axis=axis, keepdims=True)),
                       symbol="log_softmax", doc="log_softmax(x, axis=-1) = x - logsumexp(x, axis)",
                       names=("log_softmax",), keywords=(("axis", -1),), formula=function("log_softmax"),
                       domain=(ANY,), defined_everywhere=True))
LOGSUMEXP = defop(Op(name="logsumexp", arity=1,
                     shape=lambda x, *, axis, keepdims=False: shapes.reduce(x, axis, keepdims, "logsumexp"),
                     impl=lambda x, *, axis, keepdims=False: _logsumexp(x, axis=axis, keepdims=keepdims),
                     vjp=lambda g, out, x, *, axis, keepdims=False: (
                         expand_reduced(g, x.shape, axis, keepdims) * call("softmax", x, axis=axis),),
                     jvp=lambda t, out, x, *, axis, keepdims=False: call("sum", call("softmax", x, axis=axis) * t[0],
                                                                         axis=axis, keepdims=keepdims),
                     symbol="logsumexp", scalar_adjoint=True,
                     doc="logsumexp(x, axis=None, keepdims=False) = log(sum(exp(x), axis))",
                     names=("logsumexp",), keywords=(("axis", None), ("keepdims", False)),
                     formula=function("logsumexp"), domain=(ANY,), defined_everywhere=True))
