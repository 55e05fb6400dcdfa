"""Rearranging an array's elements without changing them: flip (more of NumPy's shape functions to come)."""
import numpy as np

from gradc import shapes
from gradc.ops.domain import ANY
from gradc.ops.formula import function
from gradc.ops.registry import Op, call, defop, linear


def _flip_shape(x, *, axis):
    shapes.normalize_axes(x, axis, "flip")  # raises for an axis out of range
    return x


# A permutation that is its own inverse: the adjoint flips the gradient back along the same axes.
FLIP = defop(Op(name="flip", arity=1, shape=_flip_shape, impl=lambda x, *, axis: np.flip(x, axis=axis),
                vjp=lambda g, out, x, *, axis: (call("flip", g, axis=axis),), jvp=linear("flip"),
                symbol="flip", names=("flip",), keywords=(("axis", None),), view=True,
                doc="flip(x, axis=None): reverse the order of elements along axis (None: along every axis)",
                formula=function("flip"), domain=(ANY,), defined_everywhere=True))
