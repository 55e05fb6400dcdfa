"""Gathers by an integer index array: take(x, indices, axis) and its adjoint take_add, the scatter that adds.

The indices are a graph operand holding integers (labels); they are never differentiated, so both rules give
None for them. NOTE: repeated indices gather the same element twice, so the adjoint must add them up:
take_add accumulates with np.add.at semantics, never with a plain assignment (which keeps only the last).
"""
import numpy as np

from gradc.errors import ShapeError
from gradc.ops.domain import ANY, INDICES
from gradc.ops.formula import function
from gradc.ops.registry import Op, call, defop


def _axis(x, axis):
    if not -len(x) <= axis < len(x):
        raise ShapeError(f"take(..., axis={axis}): no axis {axis} in an array of {len(x)} dimensions")
    return axis % len(x)


def take_shape(x, indices, *, axis):
    axis = _axis(x, axis)
    return tuple(x[:axis]) + tuple(indices) + tuple(x[axis + 1:])


def _take_impl(x, indices, *, axis):
    return np.take(np.asarray(x), np.asarray(indices), axis=axis)


def _take_jvp(tangents, out, x, indices, *, axis):
    return None if tangents[0] is None else call("take", tangents[0], indices, axis=axis)


TAKE = defop(Op(name="take", arity=2, shape=take_shape, impl=_take_impl,
                vjp=lambda g, out, x, indices, *, axis: (call("take_add", g, indices, axis=axis, shape=x.shape),
                                                          None),
                jvp=_take_jvp, symbol="take", formula=function("take"),
                doc="take(x, indices, axis): x gathered at integer indices along an axis",
                domain=(ANY, INDICES), defined_everywhere=True))


def _take_add_impl(g, indices, *, axis, shape):
    result = np.zeros(shape)
    np.add.at(result, (slice(None),) * (axis % len(shape)) + (np.asarray(indices),), g)
    return result


def _take_add_jvp(tangents, out, g, indices, *, axis, shape):
    return None if tangents[0] is None else call("take_add", tangents[0], indices, axis=axis, shape=shape)


# The adjoint of take: zeros, with each gathered element's gradient added where it was taken from.
TAKE_ADD = defop(Op(name="take_add", arity=2, shape=lambda g, indices, *, axis, shape: tuple(shape),
                    impl=_take_add_impl,
                    vjp=lambda g, out, h, indices, *, axis, shape: (call("take", g, indices, axis=axis), None),
                    jvp=_take_add_jvp, symbol="takeᵀ", formula=function("take_add"),
                    doc="zeros with x added at integer indices along an axis (np.add.at: repeats add up)",
                    domain=(ANY, INDICES), defined_everywhere=True))
