"""Running sums and products along an axis (cumsum, cumprod), and the reversed running sum their adjoints need."""
import math

import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY, Domain
from gradc.ops.formula import function
from gradc.ops.registry import Op, call, defop, linear


def running_shape(x, *, axis, op="cumsum"):
    """x's shape along an axis; with axis None NumPy flattens x first (a scalar becomes one element)."""
    if axis is not None:
        shapes.normalize_axes(x, (axis,), op)
        return x
    if all(isinstance(d, int) for d in x):
        return (math.prod(x),)
    sized = [d for d in x if d != 1]
    if len(sized) > 1:
        raise ShapeError(f"{op}(x) flattens x of shape {shapes.show(x)}, whose {' * '.join(map(str, sized))} "
                         f"elements have no name: give an axis ({op}(x, axis=0)), or cumulate a vector")
    return (sized[0] if sized else 1,)


def _rcumsum(g, *, axis, shape):
    along = 0 if axis is None else axis
    return np.flip(np.cumsum(np.flip(g, along), axis=along), along).reshape(shape)


def _rcumsum_shape(g, *, axis, shape):
    if len(g) != (1 if axis is None else len(shape)):
        raise ShapeError(f"rcumsum: a running sum of shape {shapes.show(g)} is not one of {shapes.show(shape)}")
    return shape


CUMSUM = defop(Op(name="cumsum", arity=1, shape=running_shape,
                  impl=lambda x, *, axis: np.cumsum(x, axis=axis),
                  vjp=lambda g, out, x, *, axis: (call("rcumsum", g, axis=axis, shape=x.shape),),
                  jvp=linear("cumsum"), symbol="cumsum", names=("cumsum",), keywords=(("axis", None),),
                  doc="cumsum(x, axis=None): running sum along axis (axis None: of x flattened)",
                  formula=function("cumsum"), domain=(ANY,), defined_everywhere=True))
# The adjoint of a running sum: the running sum from the end (x[i] gets the adjoints of every result from i on),
# reshaped to the operand's shape where the running sum flattened it.
RCUMSUM = defop(Op(name="rcumsum", arity=1, shape=_rcumsum_shape, impl=_rcumsum,
                   vjp=lambda g, out, x, *, axis, shape: (call("cumsum", g, axis=axis),),
                   jvp=linear("rcumsum"), symbol="cumsum←",
                   doc="running sum from the end along axis (the adjoint of cumsum)",
                   formula=function("rcumsum"), domain=(ANY,), defined_everywhere=True))
# NOTE: d out_i / d x_j = out_i / x_j (j <= i) divides by x, so cumprod's derivatives hold where x != 0 (at an
# element exactly 0 they are nan, never a wrong number): prod's gradient is the one exact at zeros.
CUMPROD = defop(Op(name="cumprod", arity=1, shape=lambda x, *, axis: running_shape(x, axis=axis, op="cumprod"),
                   impl=lambda x, *, axis: np.cumprod(x, axis=axis),
                   vjp=lambda g, out, x, *, axis: (call("rcumsum", g * out, axis=axis, shape=x.shape) / x,),
                   jvp=lambda t, out, x, *, axis: out * call("cumsum", t[0] / x, axis=axis),
                   symbol="cumprod", names=("cumprod",), keywords=(("axis", None),),
                   doc="cumprod(x, axis=None): running product along axis; its derivatives hold where x != 0",
                   formula=function("cumprod"), defined_everywhere=True,
                   domain=(Domain(0.5, 1.5, signed=True, need="{} != 0 (cumprod's derivatives divide by it)"),)))
