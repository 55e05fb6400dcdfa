"""Joining arrays: concatenate, stack, hstack, vstack, column_stack (variadic: the source's sequence of arrays).

Each join first gives every operand the rank of the result, as NumPy does (vstack makes a vector a row,
column_stack a column, stack adds the new axis), then concatenates along one axis. The adjoint cuts the
gradient back into the operands' blocks with the index op (an int where the operand had no such axis, a
slice where it had), so the backward pass is plain slicing; the JVP joins the tangents the same way.

Lengths add as dimensions do (gradc/dimensions.py): joining n and m rows gives m + n, and the blocks are cut at
symbolic bounds (`g[:n]`, `g[n:]`), which the generated module computes from its size variables.
"""
import numpy as np

from gradc import dimensions, shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import ATOM, Piece, printed
from gradc.ops.indexing import Slice
from gradc.ops.registry import Op, call, defop


def _raise_to(shape, rank, where):
    """`shape` with axes of length 1 inserted at `where` (positions in the result) until it has `rank` axes."""
    result = list(shape)
    for axis in where[:rank - len(shape)]:
        result.insert(axis, 1)
    return tuple(result), tuple(where[:rank - len(shape)])


def _concatenate_layout(arg_shapes, axis):
    if any(not s for s in arg_shapes):
        raise ShapeError("concatenate: zero-dimensional arrays cannot be concatenated: join scalars with "
                         "stack((a, b)) or hstack((a, b))")
    if axis is None:  # NumPy flattens each array first: nothing to flatten in vectors
        if any(len(s) != 1 for s in arg_shapes):
            raise ShapeError("concatenate(..., axis=None) flattens arrays of more than one dimension, a length "
                             "gradc cannot name: join along an axis, or flatten each array first")
        axis = 0
    return [(s, ()) for s in arg_shapes], axis


def _stack_layout(arg_shapes, axis):
    if axis is None:
        raise ShapeError("stack: axis must be an integer (stack joins along a new axis)")
    if len(set(arg_shapes)) > 1:
        raise ShapeError(f"stack: all arrays must have the same shape, got {' and '.join(map(shapes.show, arg_shapes))}"
                         " (give dimensions that must agree the same name)")
    rank = len(arg_shapes[0]) + 1
    if not -rank <= axis < rank:
        raise ShapeError(f"stack: axis {axis} is out of range for a result of {rank} dimensions")
    return [_raise_to(s, rank, (axis % rank,)) for s in arg_shapes], axis % rank


def _hstack_layout(arg_shapes):
    raised = [_raise_to(s, 1, (0,)) for s in arg_shapes]  # atleast_1d
    return raised, 0 if len(raised[0][0]) == 1 else 1


def _vstack_layout(arg_shapes):
    return [_raise_to(s, 2, (0, 1)) for s in arg_shapes], 0  # atleast_2d: a vector becomes a row


def _column_stack_layout(arg_shapes):
    return [_raise_to(s, 2, (1, 0)) for s in arg_shapes], 1  # a vector becomes a column


# op name -> layout(arg_shapes, **attrs) -> ([(raised shape, inserted axes)], joined axis)
LAYOUTS = {"concatenate": lambda s, *, axis: _concatenate_layout(s, axis),
           "stack": lambda s, *, axis: _stack_layout(s, axis),
           "hstack": _hstack_layout, "vstack": _vstack_layout, "column_stack": _column_stack_layout}


def _joined(name, arg_shapes, attrs):
    """The operands raised to the result's rank, and the joined axis (non-negative), checked."""
    if not arg_shapes:
        raise ShapeError(f"{name}: needs at least one array to join")
    raised, axis = LAYOUTS[name](arg_shapes, **attrs)
    rank = len(raised[0][0])
    if any(len(s) != rank for s, _ in raised):
        raise ShapeError(f"{name}: all arrays must have the same number of dimensions, got shapes "
                         f"{', '.join(map(shapes.show, arg_shapes))}")
    if not -rank <= axis < rank:
        raise ShapeError(f"{name}: axis {axis} is out of range for shapes {', '.join(map(shapes.show, arg_shapes))}")
    axis %= rank
    for i in range(rank):
        if i != axis and len({s[i] for s, _ in raised}) > 1:
            raise ShapeError(f"{name}: the arrays' shapes {', '.join(map(shapes.show, arg_shapes))} differ in "
                             f"axis {i}, which is not the joined axis {axis} (give dimensions that must agree "
                             "the same name)")
    return raised, axis


def join_shape(name):
    def shape(*arg_shapes, **attrs):
        raised, axis = _joined(name, arg_shapes, attrs)
        lengths = [s[axis] for s, _ in raised]
        total = dimensions.add(*lengths)
        return raised[0][0][:axis] + (total,) + raised[0][0][axis + 1:]
    return shape


def blocks(name, arg_shapes, attrs):
    """For each operand, the index of the result that is exactly that operand: an int at each axis the operand
    was given (a vector's row in vstack), a slice of its length along the joined axis."""
    raised, axis = _joined(name, arg_shapes, attrs)
    result, start = [], 0
    for k, (shape, inserted) in enumerate(raised):
        stop = None if k == len(raised) - 1 else dimensions.add(start, shape[axis])
        items = []
        for i in range(len(shape)):
            if i in inserted:
                items.append(start if i == axis else 0)
            elif i == axis and len(raised) > 1:
                items.append(Slice(start or None, stop))
            else:
                items.append(Slice())
        while items and items[-1] == Slice():
            items.pop()  # x[1:3, :] is x[1:3]
        result.append(tuple(items))
        start = stop
    return result


def _join_vjp(name):
    def vjp(g, out, *args, **attrs):
        return tuple(call("index", g, index=index) if index else g
                     for index in blocks(name, [a.shape for a in args], attrs))
    return vjp


def _join_jvp(name):
    """The join of the tangents, a zero block for an operand that does not move."""
    def jvp(tangents, out, *args, **attrs):
        if all(t is None for t in tangents):
            return None
        parts = [call("zeros", shape=a.shape, like=a) if t is None else t for t, a in zip(tangents, args)]
        return call(name, *parts, **attrs)
    return jvp


def _join_form(name):
    """`concatenate((a, b), axis=1)` as the source writes it: the operands as one sequence, then the axis."""
    def form(p, node, *operands, **attrs):
        sequence = ", ".join(o.text for o in operands) + ("," if len(operands) == 1 else "")
        if p.latex:
            head = r"\operatorname{" + name.replace("_", r"\_") + "}"
            return Piece(head + rf"\left({sequence}\right)", ATOM)
        return Piece(f"{name}({p.arguments(node, [Piece(f'({sequence})', ATOM)], attrs)})", ATOM)
    return form


def _join(name, impl, doc, keywords=(), aliases=()):
    return defop(Op(name=name, arity=-1, shape=join_shape(name), impl=impl, vjp=_join_vjp(name),
                    jvp=_join_jvp(name), symbol=name, doc=doc, names=(name,) + aliases, keywords=keywords,
                    sequence=True,
                    formula=printed(_join_form(name)),
                    domain=(ANY,), defined_everywhere=True))


CONCATENATE = _join("concatenate", lambda *arrays, axis: np.concatenate(arrays, axis=axis),
                    "concatenate((a, b), axis=0): join arrays along an existing axis", (("axis", 0),),
                    aliases=("concat",))
STACK = _join("stack", lambda *arrays, axis: np.stack(arrays, axis=axis),
              "stack((a, b), axis=0): join arrays of one shape along a new axis", (("axis", 0),))
HSTACK = _join("hstack", lambda *arrays: np.hstack(arrays),
               "hstack((a, b)): join vectors end to end, matrices side by side (along axis 1)")
VSTACK = _join("vstack", lambda *arrays: np.vstack(arrays),
               "vstack((a, b)): stack rows: vectors become rows, matrices join along axis 0")
COLUMN_STACK = _join("column_stack", lambda *arrays: np.column_stack(arrays),
                     "column_stack((a, b)): vectors become columns, joined side by side with matrices")
