"""Rearranging or copying an array's elements without changing them: reshape, ravel, flip, swapaxes, moveaxis,
roll, repeat, tile.

(transpose lives with the matrix products in linalg.py, expand_dims and squeeze with the reductions' plumbing.)
The adjoint of a rearrangement is the inverse rearrangement; the adjoint of a copy sums the copies back
(repeat_sum, tile_sum: internal ops that differentiation inserts).
"""
import math

import numpy as np

from gradc import dimensions, shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import ATOM, Piece, function, printed
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


def _axis(shape, axis, op, what="axis"):
    if type(axis) is not int or not -len(shape) <= axis < len(shape):
        given = f"{what} {axis!r} is out of range" if type(axis) is int else f"give {what} as an integer"
        raise ShapeError(f"{op}: {given} for shape {shapes.show(shape)}")
    return axis % len(shape)


def swapped(shape, axis1, axis2):
    """swapaxes' permutation of the axes of `shape`."""
    order = list(range(len(shape)))
    a, b = _axis(shape, axis1, "swapaxes", "axis1"), _axis(shape, axis2, "swapaxes", "axis2")
    order[a], order[b] = order[b], order[a]
    return order


# Its own inverse, like flip.
SWAPAXES = defop(Op(name="swapaxes", arity=1,
                    shape=lambda x, *, axis1, axis2: tuple(x[i] for i in swapped(x, axis1, axis2)),
                    impl=lambda x, *, axis1, axis2: np.swapaxes(x, axis1, axis2),
                    vjp=lambda g, out, x, **axes: (call("swapaxes", g, **axes),), jvp=linear("swapaxes"),
                    symbol="swap", names=("swapaxes",), keywords=(("axis1", None), ("axis2", None)), positional=2,
                    view=True, doc="swapaxes(x, axis1, axis2): exchange two axes", formula=function("swapaxes"),
                    domain=(ANY,), defined_everywhere=True))


def moved(shape, source, destination):
    """moveaxis' permutation: the axes `source` go to the positions `destination`, the others keep their order."""
    source, destination = (a if isinstance(a, tuple) else (a,) for a in (source, destination))
    if len(source) != len(destination):
        raise ShapeError(f"moveaxis: source {source} and destination {destination} must name as many axes")
    source, destination = ([_axis(shape, a, "moveaxis", what) for a in axes]
                           for axes, what in ((source, "source"), (destination, "destination")))
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise ShapeError("moveaxis: source and destination may not repeat an axis")
    order = [i for i in range(len(shape)) if i not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return order


def _moveaxis_vjp(g, out, x, *, source, destination):
    return (call("moveaxis", g, source=destination, destination=source),)


MOVEAXIS = defop(Op(name="moveaxis", arity=1,
                    shape=lambda x, *, source, destination: tuple(x[i] for i in moved(x, source, destination)),
                    impl=lambda x, *, source, destination: np.moveaxis(x, source, destination),
                    vjp=_moveaxis_vjp, jvp=linear("moveaxis"), symbol="move", names=("moveaxis",),
                    keywords=(("source", None), ("destination", None)), positional=2, view=True,
                    doc="moveaxis(x, source, destination): move axes to new positions, the others keeping their order",
                    formula=function("moveaxis"), domain=(ANY,), defined_everywhere=True))


def _roll_shape(x, *, shift, axis):
    if shift is None:
        raise ShapeError("roll: give the shift, as in roll(x, 1)")
    if isinstance(shift, tuple) and isinstance(axis, tuple) and len(shift) != len(axis):
        raise ShapeError(f"roll: shift {shift} and axis {axis} must have the same length")
    if isinstance(shift, tuple) and axis is None:
        raise ShapeError(f"roll: a tuple shift {shift} needs the axes it moves along, as in roll(x, (1, 2), (0, 1))")
    for a in axis if isinstance(axis, tuple) else () if axis is None else (axis,):
        _axis(x, a, "roll")
    return x


def _negated(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


# A cyclic shift: the adjoint shifts back by -shift (along the flattened array where axis is None).
ROLL = defop(Op(name="roll", arity=1, shape=_roll_shape,
                impl=lambda x, *, shift, axis: np.roll(x, shift, axis=axis),
                vjp=lambda g, out, x, *, shift, axis: (call("roll", g, shift=_negated(shift), axis=axis),),
                jvp=linear("roll"), symbol="roll", names=("roll",), keywords=(("shift", None), ("axis", None)),
                positional=2, doc="roll(x, shift, axis=None): shift elements cyclically along axis (None: flattened)",
                formula=function("roll"), domain=(ANY,), defined_everywhere=True))


def _repeat_shape(x, *, repeats, axis):
    if not isinstance(repeats, int) or repeats < 0:
        raise ShapeError(f"repeat: repeats must be a non-negative integer constant, got {repeats!r}")
    if axis is None:
        return (dimensions.multiply(*x, repeats),)
    a = _axis(x, axis, "repeat")
    return x[:a] + (dimensions.multiply(x[a], repeats),) + x[a + 1:]


def _repeat_vjp(g, out, x, *, repeats, axis):
    if repeats == 0:
        return (call("zeros", shape=x.shape, like=g),)
    return (call("repeat_sum", g, repeats=repeats, axis=None if axis is None else axis % x.ndim, shape=x.shape),)


# np.repeat copies each element `repeats` times in a row; the adjoint adds each run of copies back up. (A count
# per element, repeat(x, [2, 0, 1]), the parser writes as the constant gather x[[0, 0, 2]]: gradc/frontend/gathers.py.)
REPEAT = defop(Op(name="repeat", arity=1, shape=_repeat_shape,
                  impl=lambda x, *, repeats, axis: np.repeat(x, repeats, axis=axis), vjp=_repeat_vjp,
                  jvp=linear("repeat"), symbol="repeat", names=("repeat",), keywords=(("repeats", None), ("axis", None)),
                  positional=2, doc="repeat(x, repeats, axis=None): each element repeats times in a row "
                                    "(None: of the flattened array); repeats an int, or one count per element",
                  formula=function("repeat"), domain=(ANY,), defined_everywhere=True))


def repeat_split(shape, repeats, axis):
    """The shape that puts each run of repeat's copies on an axis of its own, right after the axis it copied
    (a flattened one where axis is None): summing that axis adds the copies up. Sizes, not names."""
    if axis is None:
        return (math.prod(shape), repeats)
    return shape[:axis] + (shape[axis], repeats) + shape[axis + 1:]


def _repeat_sum(g, *, repeats, axis, shape):
    total = np.sum(np.reshape(g, repeat_split(shape, repeats, axis)), axis=-1 if axis is None else axis + 1)
    return np.reshape(total, shape)


REPEAT_SUM = defop(Op(name="repeat_sum", arity=1, shape=lambda g, *, repeats, axis, shape: shape,
                      impl=_repeat_sum,
                      vjp=lambda g, out, x, *, repeats, axis, shape: (call("repeat", g, repeats=repeats, axis=axis),),
                      jvp=linear("repeat_sum"), symbol="Σrepeat",
                      doc="the adjoint of repeat: each run of repeats copies summed back to one element",
                      formula=function("repeat_sum"), domain=(ANY,), defined_everywhere=True))


def tile_layout(ndim, reps):
    """reps and the number of leading axes of length 1 that np.tile gives x, both padded to the result's rank."""
    reps = reps if isinstance(reps, tuple) else (reps,)
    rank = max(ndim, len(reps))
    return (1,) * (rank - len(reps)) + reps, rank - ndim


def _tile_shape(x, *, reps):
    if reps is None or any(not isinstance(r, int) or r < 0 for r in (reps if isinstance(reps, tuple) else (reps,))):
        raise ShapeError(f"tile: reps must be a non-negative int or a tuple of them, got {reps!r}")
    reps, lead = tile_layout(len(x), reps)
    return tuple(dimensions.multiply(d, r) for d, r in zip((1,) * lead + x, reps))


def _tile_vjp(g, out, x, *, reps):
    return (call("tile_sum", g, reps=tile_layout(x.ndim, reps)[0], shape=x.shape),)


TILE = defop(Op(name="tile", arity=1, shape=_tile_shape, impl=lambda x, *, reps: np.tile(x, reps), vjp=_tile_vjp,
                jvp=linear("tile"), symbol="tile", names=("tile",), keywords=(("reps", None),), positional=1,
                doc="tile(x, reps): x repeated reps times along each axis (reps an int or a tuple of ints)",
                formula=function("tile"), domain=(ANY,), defined_everywhere=True))


def tile_split(shape, reps):
    """The gradient's shape with each tiled axis split into (copies, length), a new leading axis into its copies
    alone: summing the copies' axes adds the tiles back up into `shape`. Returns (split shape, the copies' axes)."""
    reps, lead = tile_layout(len(shape), reps)
    split, copies = [], []
    for i, r in enumerate(reps):
        if r != 1:
            copies.append(len(split))
            split.append(r)
        if i >= lead:
            split.append(shape[i - lead])
    return tuple(split), tuple(copies)


def _tile_sum(g, *, reps, shape):
    split, copies = tile_split(shape, reps)
    return np.reshape(np.sum(np.reshape(g, split), axis=copies), shape)


TILE_SUM = defop(Op(name="tile_sum", arity=1, shape=lambda g, *, reps, shape: shape, impl=_tile_sum,
                    vjp=lambda g, out, x, *, reps, shape: (call("tile", g, reps=reps),), jvp=linear("tile_sum"),
                    symbol="Σtile", doc="the adjoint of tile: the tiles summed back to one",
                    formula=function("tile_sum"), domain=(ANY,), defined_everywhere=True))


def _reshape_form(p, node, x, *, shape):
    """reshape(x, (n, d)): the shape as the user writes it, names unquoted."""
    head = r"\operatorname{reshape}" if p.latex else "reshape"
    return Piece(f"{head}({x.text}, {shapes.show(shape)})", ATOM)


# A view of the same elements in row-major order under another shape: the adjoint views the gradient back.
RESHAPE = defop(Op(name="reshape", arity=1, shape=lambda x, *, shape: shapes.reshaped(x, shape),
                   impl=lambda x, *, shape: np.reshape(x, shape),
                   vjp=lambda g, out, x, *, shape: (call("reshape", g, shape=x.shape),), jvp=linear("reshape"),
                   symbol="reshape", names=("reshape",), keywords=(("shape", None),), positional=1, view=True,
                   doc="reshape(x, shape) or x.reshape(n, d): the elements in row-major order under a new shape "
                       "(ints, dimension names, products such as n*d, one -1 inferred)",
                   formula=printed(_reshape_form), domain=(ANY,), defined_everywhere=True))
# NOTE: NumPy has ravel as a function and a method, flatten as a method only (x.flatten() copies; gradc's
# values are never written to, so a view serves both).
RAVEL = defop(Op(name="ravel", arity=1, shape=lambda x: (dimensions.multiply(*x),), impl=np.ravel,
                 vjp=lambda g, out, x: (call("reshape", g, shape=x.shape),), jvp=linear("ravel"), symbol="ravel",
                 names=("ravel", "flatten"), view=True, doc="ravel(x) or x.flatten(): the elements in row-major order",
                 formula=function("ravel"), domain=(ANY,), defined_everywhere=True))
