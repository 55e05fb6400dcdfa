"""Every registered op: its NumPy meaning, and its VJP against central differences.

Two routes: graphs built directly from `Value`s, differentiated and interpreted with `evaluate` (this
reaches the internal ops: sum_to, broadcast_to, scatter, masks...), and for every public op a source
string compiled by `gradc.compile`, whose generated gradient is compared with differences of its
generated forward function. Operands are drawn from each entry's `domain`; every op has one or is a leaf in
LEAVES, so a new op cannot skip both.
"""
import math

import numpy as np
import pytest

import gradc
from gradc.errors import DifferentiationError
from gradc.transform.differentiate import differentiate
from gradc.backend.interpret import evaluate
from gradc.graph import Graph
from gradc.ops import REGISTRY, Value, call
from gradc.ops.domain import Domain
from gradc.ops.indexing import Slice
from helpers import assert_grad_matches


def domains(name):
    """One Domain per operand of op `name`, from its entry (a variadic op's one domain, thrice)."""
    op = REGISTRY[name]
    domain = op.domain
    return domain * 3 if op.arity < 0 else domain


# Leaves: no operands, nothing to differentiate. Each with the attributes to build one from; their meanings
# and lowerings are compared in test_op_entries (size is also tested through mean below).
LEAVES = {
    "input": dict(var="a", dims=("n",)), "const": dict(value=-2.5), "size": dict(dims=("n", 3)),
    "zeros": dict(shape=("n", 3)), "ones": dict(shape=(2, "n")), "eye": dict(shape=("n", "n")),
    "full": dict(shape=("n", 2), fill_value=-1.5), "identity": dict(shape=("n", "n")),
    "literal": dict(values=((1.0, -2.0), (0.5, 3.0), (0.0, 4.0))),
}
MASKS = tuple(name for name, op in REGISTRY.items() if not op.differentiable)
# Differentiated once only: the op is what a first derivative is made of, and its own rules raise a
# DifferentiationError (the spectral and nuclear norms' u v^T; test_vocab_reductions checks both).
ONCE = ("singular_direction",)  # masks and sign: no gradient by design

UNARY_SHAPES = [(), (3,), (2, 3), (1, 3)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((1, 3), (2, 3)), ((2, 3), ()), ((3,), (2, 1))]
REDUCTIONS = [((3,), dict(axis=None, keepdims=False)), ((2, 3), dict(axis=None, keepdims=False)),
              ((2, 3), dict(axis=0, keepdims=False)), ((2, 3), dict(axis=-1, keepdims=False)),
              ((2, 3), dict(axis=(0, 1), keepdims=False)), ((2, 3), dict(axis=1, keepdims=True)),
              ((2, 3), dict(axis=None, keepdims=True))]
SPREADS = [((3,), dict(axis=None, ddof=0, keepdims=False)), ((2, 3), dict(axis=None, ddof=1, keepdims=False)),
           ((2, 3), dict(axis=0, ddof=1, keepdims=False)), ((2, 3), dict(axis=-1, ddof=0, keepdims=True)),
           ((2, 3), dict(axis=(0, 1), ddof=2, keepdims=False)), ((4, 3), dict(axis=0, ddof=0, keepdims=False))]
# A flattening running sum of named (m, n) has m * n elements, which no name says: (1, 3) flattens here, and
# (2, 3) with int dimensions in test_vocab_reductions.
RUNNING = [((3,), dict(axis=None)), ((1, 3), dict(axis=None)), ((2, 3), dict(axis=0)), ((2, 3), dict(axis=-1)),
           ((), dict(axis=None))]
_INF = float("inf")
NORMS = [((3,), dict(ord=None, axis=None, keepdims=False)), ((3,), dict(ord=1, axis=None, keepdims=False)),
         ((3,), dict(ord=_INF, axis=None, keepdims=False)), ((3,), dict(ord=-_INF, axis=None, keepdims=False)),
         ((3,), dict(ord=3, axis=None, keepdims=False)), ((3,), dict(ord=0.5, axis=-1, keepdims=True)),
         ((2, 3), dict(ord=None, axis=None, keepdims=False)), ((2, 3), dict(ord=2, axis=1, keepdims=False)),
         ((2, 3), dict(ord="fro", axis=None, keepdims=True)), ((2, 3), dict(ord=1, axis=None, keepdims=False)),
         ((2, 3), dict(ord=-1, axis=(1, 0), keepdims=False)), ((2, 3), dict(ord=_INF, axis=None, keepdims=False)),
         ((3, 2), dict(ord=-_INF, axis=(0, 1), keepdims=True)), ((2, 3, 2), dict(ord=1, axis=(0, 2), keepdims=False)),
         ((2, 3, 2), dict(ord=None, axis=None, keepdims=False)), ((), dict(ord=None, axis=None, keepdims=False)),
         ((3,), dict(ord=-2, axis=None, keepdims=False)), ((2, 3), dict(ord=2, axis=None, keepdims=False)),
         ((3, 2), dict(ord=-2, axis=(1, 0), keepdims=True)), ((2, 3), dict(ord="nuc", axis=None, keepdims=False))]
# The reductions engineer's rows (issue 12): prod, var/std, norm, cumsum/cumprod and their internal ops.
REDUCTION_CASES = {
    "prod": REDUCTIONS + [((), dict(axis=None, keepdims=False)), ((4,), dict(axis=0, keepdims=False))],
    "prod_others": [((3,), dict(axis=None)), ((2, 3), dict(axis=0)), ((2, 3), dict(axis=-1)),
                    ((2, 3), dict(axis=(0, 1))), ((), dict(axis=None)), ((2, 3, 2), dict(axis=(0, 2)))],
    "var": SPREADS, "std": SPREADS, "norm": NORMS, "cumsum": RUNNING, "cumprod": RUNNING,
    "singular_direction": [((2, 3), dict(ord=2)), ((3, 2), dict(ord=-2)), ((2, 2), dict(ord="nuc"))],
    "rcumsum": [((3,), dict(axis=None, shape=(3,))), ((6,), dict(axis=None, shape=(2, 3))),
                ((2, 3), dict(axis=1, shape=(2, 3))), ((2, 3), dict(axis=0, shape=(2, 3))),
                ((1,), dict(axis=None, shape=()))],
}
# The elementwise engineer's rows (issue 12): ops of three operands, and activations with attributes.
TERNARY_SHAPES = [((), (), ()), ((3,), (3,), (3,)), ((2, 3), (), ()), ((2, 3), (3,), (2, 1)), ((3,), (2, 1), ())]
ELEMENTWISE_CASES = {
    "clip": [(s, {}) for s in TERNARY_SHAPES], "where": [(s, {}) for s in TERNARY_SHAPES],
    "elu": [((), dict(alpha=1.0)), ((3,), dict(alpha=0.5)), ((2, 3), dict(alpha=2.0)), ((1, 3), dict(alpha=1.0))],
    "leaky_relu": [((), dict(negative_slope=0.01)), ((3,), dict(negative_slope=0.2)),
                   ((2, 3), dict(negative_slope=0.01)), ((1, 3), dict(negative_slope=-0.5))],
    "gelu": [(s, dict(approximate=True)) for s in UNARY_SHAPES] + [(s, dict(approximate=False)) for s in UNARY_SHAPES],
}
# The contractions engineer's rows (issue 12): dot and inner by the operands' ranks, einsum by spec.
CONTRACTION_CASES = {
    "dot": [(((), (3,)), {}), (((2, 3), ()), {}), (((3,), (3,)), {}), (((2, 3), (3, 4)), {}), (((2, 3), (3,)), {}),
            (((2, 2, 3), (4, 3, 2)), {}), (((2, 3), (4, 3, 2)), {}), (((2, 2, 3), (3,)), {})],
    "inner": [(((), (2, 3)), {}), (((3,), (3,)), {}), (((2, 3), (3,)), {}), (((3,), (2, 3)), {}),
              (((2, 3), (4, 3)), {}), (((2, 2, 3), (3,)), {})],
    "einsum": [(((2, 3), (3, 4)), dict(spec="ij,jk->ik")), (((3, 3),), dict(spec="ii->")),
               (((3, 3),), dict(spec="ii->i")), (((2, 3, 4), (2, 4, 3)), dict(spec="bij,bjk->bik")),
               (((3,), (3, 4), (4,)), dict(spec="i,ij,j->")), (((2, 3), (4,)), dict(spec="ij,k->ik")),
               (((2, 3),), dict(spec="ij->ji")), (((2, 3), (2, 3)), dict(spec="ij,ij->")),
               (((2, 3, 3), (2, 3)), dict(spec="bii,bj->bj")), (((2, 3),), dict(spec="ij->"))],
    "kron": [(((2,), (3,)), {}), (((2, 3), (2, 2)), {}), (((3,), (2, 2)), {}), (((2, 2, 1), (3,)), {}),
             (((), (3,)), {})],
    "split_axes": [((6,), dict(parts=((2, 3),))), ((6, 4), dict(parts=((3, 2), (2, 2))))],
    "merge_axes": [((2, 3), {}), ((2, 3, 1, 2), {})],
    "tensordot": [(((2, 3, 4), (3, 4, 2)), dict(axes=2)), (((2, 3), (3, 4)), dict(axes=1)),
                  (((2,), (3,)), dict(axes=0)), (((3, 2, 4), (2, 3)), dict(axes=((1, 0), (0, 1)))),
                  (((2, 3), (4, 2)), dict(axes=((0,), (1,)))), (((2, 3), (2, 3)), dict(axes=((-2, -1), (0, 1))))],
}
SPECIAL = {
    "sum": REDUCTIONS, "mean": REDUCTIONS, "amax": REDUCTIONS, "amin": REDUCTIONS,
    "sum_to": [((2, 3), dict(shape=(3,))), ((2, 3), dict(shape=(1, 3))), ((2, 3), dict(shape=(2, 1))),
               ((2, 3), dict(shape=())), ((3,), dict(shape=(1,)))],
    "broadcast_to": [((), dict(shape=(2, 3))), ((3,), dict(shape=(2, 3))), ((1, 3), dict(shape=(2, 3))),
                     ((2, 1), dict(shape=(2, 3)))],
    "expand_dims": [((), dict(axis=(0,))), ((3,), dict(axis=(0,))), ((3,), dict(axis=(1,))),
                    ((2, 3), dict(axis=(1,))), ((3,), dict(axis=(0, 2))), ((2, 3), dict(axis=-1)),
                    ((2, 3), dict(axis=0)), ((3,), dict(axis=(-1, 0)))],
    "squeeze": [((1, 3), dict(axis=(0,))), ((2, 1), dict(axis=(1,))), ((1, 3, 1), dict(axis=(0, 2))),
                ((1, 3, 1), dict(axis=None)), ((2, 1), dict(axis=-1)), ((1, 1), dict(axis=None))],
    "matmul": [(((2, 3), (3, 4)), {}), (((2, 3), (3,)), {}), (((3,), (3, 2)), {}), (((3,), (3,)), {}),
               # the contractions engineer's rows (issue 12): batched, broadcast over the batch axes
               (((2, 2, 3), (3, 4)), {}), (((3,), (2, 3, 4)), {}), (((2, 3, 4), (4,)), {}),
               (((2, 1, 2, 3), (4, 3, 2)), {}), (((1, 2, 3), (2, 3, 4)), {})],
    "outer": [(((3,), (2,)), {})],
    **CONTRACTION_CASES,
    "trace": [((3, 3), {}), ((1, 1), {})],
    "vdot": [(((3,), (3,)), {}), (((2, 3), (2, 3)), {})],
    "t_matmul": [(((4, 3), (4, 2)), {})],
    "accumulate": [(shapes, {}) for shapes in BINARY_SHAPES] + [(((2, 3), (3,), ()), {})],
    "transpose": [((2, 3), dict(axes=None)), ((3,), dict(axes=None)), ((), dict(axes=None)),
                  ((2, 3, 4), dict(axes=None)), ((2, 3, 4), dict(axes=(1, 0, 2))), ((2, 3, 4), dict(axes=(2, 0, 1))),
                  ((2, 3, 4), dict(axes=(-1, 0, 1))), ((2, 3), dict(axes=(0, 1)))],
    "index": [((3,), dict(index=(1,))), ((3,), dict(index=(-1,))), ((2, 3), dict(index=(1,))),
              ((2, 3), dict(index=(1, 2))), ((2, 3), dict(index=(0, -2))),
              ((4,), dict(index=(Slice(1),))), ((4,), dict(index=(Slice(None, None, -1),))),
              ((2, 3), dict(index=(Slice(), 0))), ((4, 5), dict(index=(Slice(1, -1), Slice(None, None, 2)))),
              ((3,), dict(index=(None, Slice()))), ((2, 3), dict(index=(Slice(), None, Slice(2, 0, -1)))),
              ((2, 3), dict(index=(-1, None)))],
    "scatter": [((), dict(index=(1,), shape=(3,))), ((3,), dict(index=(0,), shape=(2, 3))),
                ((), dict(index=(1, 2), shape=(2, 3))), ((3,), dict(index=(Slice(1),), shape=(4,))),
                ((2, 2), dict(index=(Slice(None, None, -1), Slice(1, None, 2)), shape=(2, 4))),
                ((1, 3), dict(index=(None, Slice()), shape=(3,)))],
    "softmax": [((3,), dict(axis=-1)), ((2, 3), dict(axis=-1)), ((2, 3), dict(axis=0)), ((2, 3), dict(axis=None))],
    "log_softmax": [((3,), dict(axis=-1)), ((2, 3), dict(axis=-1)), ((2, 3), dict(axis=0))],
    "logsumexp": [((3,), dict(axis=None)), ((2, 3), dict(axis=None)), ((2, 3), dict(axis=0)),
                  ((2, 3), dict(axis=-1)), ((2, 3), dict(axis=(0, 1))), ((2, 3), dict(axis=1, keepdims=True)),
                  ((2, 3), dict(axis=None, keepdims=True))],
    "take": [(((3,), (4,)), dict(axis=0)), (((2, 3), (5,)), dict(axis=1)), (((3, 2), (2, 2)), dict(axis=0)),
             (((2, 3), ()), dict(axis=-1))],
    "take_add": [(((4,), (4,)), dict(axis=0, shape=(3,))), (((2, 5), (5,)), dict(axis=1, shape=(2, 3))),
                 (((2, 2, 2), (2, 2)), dict(axis=0, shape=(3, 2)))],
    "pick": [(((3, 2), (3,)), {}), (((4, 3, 2), (4,)), {})],
    "pick_put": [(((3,), (3,)), dict(shape=(3, 2))), (((4, 2), (4,)), dict(shape=(4, 3, 2)))],
    "take_along_axis": [(((3, 2), (3, 1)), dict(axis=1)), (((2, 3), (4, 3)), dict(axis=0)),
                        (((3, 2), (1, 4)), dict(axis=-1)), (((2, 3, 2), (2, 3, 3)), dict(axis=2)),
                        (((1, 3), (4, 2)), dict(axis=1))],  # x's one row broadcast: its gradient sums rows
    "take_along_axis_add": [(((3, 1), (3, 1)), dict(axis=1, shape=(3, 2))), (((4, 3), (4, 3)), dict(axis=0, shape=(2, 3))),
                            (((3, 4), (1, 4)), dict(axis=1, shape=(3, 2))),
                            (((4, 2), (4, 2)), dict(axis=1, shape=(1, 3)))],
    **REDUCTION_CASES,
    **ELEMENTWISE_CASES,
    # The linear algebra engineer's rows (issue 12): square operands drawn whole (domain.Matrices).
    **{name: [((3, 3), {}), ((1, 1), {}), ((2, 2), {})]
       for name in ("inv", "det", "logabsdet", "slogdet_sign", "logdet", "cholesky", "lower_half")},
    "solve": [(((3, 3), (3,)), {}), (((3, 3), (3, 2)), {}), (((1, 1), (1,)), {}), (((2, 2), (2, 1)), {})],
    # The construction engineer's rows (issue 12): joins of one to three operands.
    "concatenate": [(((3,), (2,)), dict(axis=0)), (((2, 3), (2, 1), (2, 2)), dict(axis=1)),
                    (((2, 3), (1, 3)), dict(axis=0)), (((2, 3),), dict(axis=-1)), (((2, 3), (2, 3)), dict(axis=-2))],
    "stack": [(((3,), (3,)), dict(axis=0)), (((3,), (3,), (3,)), dict(axis=1)), (((2, 3), (2, 3)), dict(axis=-1)),
              (((), ()), dict(axis=0)), (((2, 3),), dict(axis=1))],
    "hstack": [(((3,), (2,)), {}), (((2, 3), (2, 1)), {}), (((), (3,), ()), {})],
    "vstack": [(((3,), (3,)), {}), (((2, 3), (3,), (1, 3)), {}), (((), ()), {}), (((2, 3),), {})],
    "column_stack": [(((3,), (3,)), {}), (((3, 2), (3,), (3, 1)), {}), (((), ()), {}), (((2,), (2, 3)), {})],
    "zeros_like": [(s, {}) for s in UNARY_SHAPES], "ones_like": [(s, {}) for s in UNARY_SHAPES],
    "full_like": [(s, dict(fill_value=2.5)) for s in UNARY_SHAPES],
    "tril": [((3, 3), dict(k=0)), ((2, 3), dict(k=-1)), ((3, 2), dict(k=1)), ((2, 3, 3), dict(k=0))],
    "triu": [((3, 3), dict(k=0)), ((2, 3), dict(k=1)), ((3, 2), dict(k=-1)), ((2, 3, 3), dict(k=2))],
    "diagonal": [((3, 3), dict(offset=0)), ((2, 3), dict(offset=1)), ((3, 2), dict(offset=-1)),
                 ((2, 3), dict(offset=-1))],
    "diag": [((3,), dict(k=0)), ((2,), dict(k=1)), ((2,), dict(k=-2)), ((3, 3), dict(k=0)), ((2, 3), dict(k=1)),
             ((3, 2), dict(k=-1))],
    "undiagonal": [((3,), dict(offset=0, shape=(3, 3))), ((2,), dict(offset=1, shape=(2, 3))),
                   ((2,), dict(offset=-1, shape=(3, 2))), ((1,), dict(offset=-1, shape=(2, 3)))],
    # The shaping engineer's rows (issue 12).
    "flip": [((3,), dict(axis=None)), ((3,), dict(axis=0)), ((2, 3), dict(axis=None)), ((2, 3), dict(axis=1)),
             ((2, 3), dict(axis=-2)), ((2, 3, 2), dict(axis=(0, 2))), ((), dict(axis=None))],
    "swapaxes": [((2, 3), dict(axis1=0, axis2=1)), ((2, 3, 4), dict(axis1=0, axis2=2)),
                 ((2, 3, 4), dict(axis1=-1, axis2=1)), ((3,), dict(axis1=0, axis2=0))],
    "moveaxis": [((2, 3, 4), dict(source=0, destination=-1)), ((2, 3, 4), dict(source=-1, destination=0)),
                 ((2, 3, 4), dict(source=(0, 1), destination=(2, 0))), ((2, 3), dict(source=1, destination=0))],
    "roll": [((4,), dict(shift=1, axis=None)), ((4,), dict(shift=-3, axis=0)), ((2, 3), dict(shift=2, axis=None)),
             ((2, 3), dict(shift=-1, axis=1)), ((2, 3), dict(shift=(1, 2), axis=(0, 1))),
             ((2, 3, 2), dict(shift=(1, -1), axis=(2, 1))), ((2, 3), dict(shift=(1, 1), axis=1)), ((), dict(shift=1, axis=None))],
    "repeat": [((3,), dict(repeats=2, axis=None)), ((2, 3), dict(repeats=2, axis=None)), ((2, 3), dict(repeats=3, axis=1)),
               ((2, 3), dict(repeats=2, axis=-2)), ((), dict(repeats=3, axis=None)), ((2, 3), dict(repeats=1, axis=0)),
               ((2, 3), dict(repeats=0, axis=0))],
    "repeat_sum": [((6,), dict(repeats=2, axis=None, shape=(3,))), ((12,), dict(repeats=2, axis=None, shape=(2, 3))),
                   ((2, 9), dict(repeats=3, axis=1, shape=(2, 3))), ((3,), dict(repeats=3, axis=None, shape=()))],
    "tile": [((3,), dict(reps=2)), ((2, 3), dict(reps=(2, 1))), ((2, 3), dict(reps=(1, 3))), ((3,), dict(reps=(2, 2))),
             ((2, 3), dict(reps=2)), ((), dict(reps=(2, 3))), ((2, 1, 3), dict(reps=(1, 2, 1, 2)))],
    "reshape": [((2, 3), dict(shape=(6,))), ((2, 3), dict(shape=(3, 2))), ((6,), dict(shape=(2, -1))),
                ((2, 3, 2), dict(shape=(-1, 2))), ((), dict(shape=(1, 1))), ((1, 3), dict(shape=(3,))),
                ((2, 3), dict(shape=(2, 3)))],
    "ravel": [((2, 3), {}), ((3,), {}), ((), {}), ((2, 1, 2), {})],
    "tile_sum": [((6,), dict(reps=(2,), shape=(3,))), ((4, 6), dict(reps=(2, 2), shape=(2, 3))),
                 ((2, 6), dict(reps=(2, 2), shape=(3,))), ((2, 3), dict(reps=(1, 1), shape=(2, 3)))],
}


def cases():
    for name, op in REGISTRY.items():
        if name in LEAVES:
            continue
        if name in SPECIAL:
            for shapes, attrs in SPECIAL[name]:
                shapes = shapes if op.arity != 1 else (shapes,)
                yield pytest.param(name, shapes, attrs, id=f"{name}-{_label(shapes, attrs)}")
        elif op.elementwise:
            for shapes in (BINARY_SHAPES if op.arity == 2 else [(s,) for s in UNARY_SHAPES]):
                yield pytest.param(name, shapes, {}, id=f"{name}-{_label(shapes, {})}")
        else:
            yield pytest.param(name, None, None, id=f"{name}-no-cases")  # fails below: give it cases


def _label(shapes, attrs):
    text = "-".join("x".join(map(str, s)) or "scalar" for s in shapes)
    return text + "".join(f"-{k}={v}" for k, v in attrs.items())


def test_every_op_has_a_domain_or_is_a_leaf():
    assert set(LEAVES) == {name for name, op in REGISTRY.items() if op.leaf}
    for name, op in REGISTRY.items():
        if op.leaf:
            assert op.domain == (), name
            continue
        assert len(op.domain) == (1 if op.arity < 0 else op.arity), name
        for domain in domains(name):
            assert isinstance(domain, Domain) and domain.lo < domain.hi, name
            assert not domain.signed or domain.lo > 0, name
            assert domain.need.format("x") != domain.need or not domain.need, f"{name}: need names the operand"


def build(name, shapes, attrs):
    """A graph computing sum(W * op(args)), W a random weight, with integer dims."""
    graph = Graph()
    args = [Value(graph, graph.input(f"a{i}", shape)) for i, shape in enumerate(shapes)]
    out = call(name, *args, **attrs)
    weight = Value(graph, graph.input("W", out.shape))
    loss = call("sum", weight * out, axis=None, keepdims=False)
    graph.outputs = [loss.node]
    return graph, out


def draw(name, shapes, rng):
    return {f"a{i}": domain.sample(rng, shape) for i, (domain, shape) in enumerate(zip(domains(name), shapes))}


def _others(x, axis):
    """Each element's product of the others in its slice, one element at a time (prod_others' reference)."""
    x = np.asarray(x, dtype=float)
    reduced = set(range(x.ndim)) if axis is None else {a % x.ndim for a in np.atleast_1d(axis)}
    result = np.empty_like(x)
    for index in np.ndindex(x.shape):
        spared = x.copy()
        spared[index] = 1.0
        kept = np.prod(spared, axis=axis, keepdims=True)
        result[index] = kept[tuple(0 if a in reduced else i for a, i in enumerate(index))]
    return result


def _undiagonal(g, offset, shape):
    """g written on the offset diagonal of zeros, one element at a time (undiagonal's reference)."""
    result = np.zeros(shape)
    for i, value in enumerate(np.atleast_1d(g)):
        result[i - min(offset, 0), i + max(offset, 0)] = value
    return result


REFERENCE = {  # independent NumPy meanings where the op's impl is not a plain NumPy function
    "undiagonal": _undiagonal,
    "zeros_like": lambda a: np.zeros(np.shape(a)), "ones_like": lambda a: np.ones(np.shape(a)),
    "full_like": lambda a, fill_value: fill_value + 0.0 * np.asarray(a),
    "prod_others": _others,
    "rcumsum": lambda g, axis, shape: (np.sum(g, axis=axis, keepdims=True) - np.cumsum(g, axis=axis)
                                       + g).reshape(shape),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "relu": lambda x: np.where(x > 0, x, 0.0),
    "mul_no_nan": lambda x, y: x * y,
    "finite_or_zero": lambda x: x,
    "softmax": lambda x, axis: np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True),
    "log_softmax": lambda x, axis: np.log(np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)),
    "logsumexp": lambda x, axis, keepdims=False: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)),
    "log_sigmoid": lambda x: np.log(1 / (1 + np.exp(-x))),
    "logit": lambda x: np.log(x) - np.log(1 - x),
    "clip": lambda x, low, high: np.clip(x, low, high),
    "where": lambda c, a, b: np.where(c != 0, a, b),
    "eq": lambda x, y: (x == y) * 1.0, "ne": lambda x, y: (x != y) * 1.0,
    "logical_and": lambda x, y: ((x != 0) & (y != 0)) * 1.0, "logical_or": lambda x, y: ((x != 0) | (y != 0)) * 1.0,
    "logical_not": lambda x: (x == 0) * 1.0,
    "round": lambda x: np.round(x),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "gelu": lambda x, approximate: (0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))) if approximate
                                    else x * np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2)))(x)),
    "erf": np.vectorize(math.erf),
    "elu": lambda x, alpha: np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(np.minimum(x, 0)) - 1)),
    "leaky_relu": lambda x, negative_slope: np.where(x >= 0, x, negative_slope * x),
    "relu6": lambda x: np.clip(x, 0, 6), "hard_tanh": lambda x: np.clip(x, -1, 1),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "logabsdet": lambda x: np.log(np.abs(np.linalg.det(x))),
    "slogdet_sign": lambda x: np.sign(np.linalg.det(x)),
    "logdet": lambda x: np.log(np.linalg.det(x)),
    "lower_half": lambda x: np.tril(x) - np.diag(np.diag(x)) / 2,
    # the copies summed one slice at a time: g[k::repeats] holds the k-th copy of each element
    "repeat_sum": lambda g, repeats, axis, shape: sum(
        (np.moveaxis(g, 0 if axis is None else axis, 0)[k::repeats] for k in range(repeats))
        ).reshape(shape) if axis is None else np.moveaxis(sum(np.moveaxis(g, axis, 0)[k::repeats]
                                                                for k in range(repeats)), 0, axis),
    "tile_sum": lambda g, reps, shape: sum(g[tuple(slice(i * d, (i + 1) * d) for i, d in zip(corner, (1,) * (len(reps) - len(shape)) + shape))]
                                           for corner in np.ndindex(*reps)).reshape(shape),
}


@pytest.mark.parametrize("name, shapes, attrs", list(cases()))
def test_impl_agrees_with_shape_rule_and_reference(name, shapes, attrs, rng):
    assert shapes is not None, f"op {name} needs shape cases in SPECIAL"
    graph, out = build(name, shapes, attrs)
    arrays = draw(name, shapes, rng)
    arrays["W"] = rng.standard_normal(out.shape)
    result = np.asarray(evaluate(graph, arrays)[out.node])
    assert result.shape == out.shape  # int dims: the shape rule is the exact shape
    if name in REFERENCE:
        np.testing.assert_allclose(result, REFERENCE[name](*arrays.values() if False else
                                                           [arrays[f"a{i}"] for i in range(len(shapes))],
                                                           **attrs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, shapes, attrs", list(cases()))
def test_vjp_matches_central_differences(name, shapes, attrs, rng):
    assert shapes is not None, f"op {name} needs shape cases in SPECIAL"
    graph, out = build(name, shapes, attrs)
    wrt = [f"a{i}" for i, d in zip(range(len(shapes)), domains(name)) if not d.integer]  # indices: never
    loss = graph.outputs[0]
    if name in ONCE:
        with pytest.raises(DifferentiationError, match=r"differentiated once"):
            differentiate(graph, wrt)
        return
    differentiate(graph, wrt)
    arrays = draw(name, shapes, rng)
    arrays["W"] = rng.standard_normal(out.shape)
    values = evaluate(graph, arrays)
    grads = {n: values[g] for n, g in zip(wrt, graph.outputs[1:])}
    for n in wrt:
        assert np.shape(grads[n]) == np.shape(arrays[n]), n
    if name in MASKS:
        for n in wrt:
            assert graph[graph.inputs[n]] and graph[graph.outputs[1 + wrt.index(n)]]["op"] == "zeros"
            assert not np.any(grads[n])
        return

    def f(**a):
        return evaluate(graph, a)[loss]

    assert_grad_matches(f, grads, arrays, wrt, rng)


@pytest.mark.parametrize("name", MASKS)
def test_masks_are_zero_one(name, rng):
    shapes = [SPECIAL[name][0][0]] if name in SPECIAL else [(5,)] * REGISTRY[name].arity  # slogdet's sign: (3, 3)
    graph, out = build(name, shapes, {})
    arrays = draw(name, shapes, rng)
    arrays["W"] = np.ones(out.shape)
    result = evaluate(graph, arrays)[out.node]
    assert set(np.unique(result)) <= {-1.0, 0.0, 1.0, False, True}


@pytest.mark.parametrize("name, shapes, attrs", [case for case in cases() if REGISTRY[case.values[0]].defined_everywhere])
def test_defined_everywhere_is_finite_far_outside_the_domain(name, shapes, attrs, rng):
    graph, out = build(name, shapes, attrs)
    arrays = {f"a{i}": domain.sample(rng, shape) if domain.integer else rng.uniform(-30.0, 30.0, size=shape)
              for i, (domain, shape) in enumerate(zip(domains(name), shapes))}
    arrays["W"] = np.ones(out.shape)
    with np.errstate(all="raise"):
        assert np.all(np.isfinite(evaluate(graph, arrays)[out.node]))


_SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
# Matrix operands where the grid's are not square: a singular matrix (or, for cholesky, one not positive definite),
# at which NumPy raises LinAlgError or gives -inf / nan.
FAILING = {"inv": (_SINGULAR,), "solve": (_SINGULAR, np.ones(2)), "logabsdet": (_SINGULAR,),
           "logdet": (-np.eye(3),), "cholesky": (-np.eye(2),)}


@pytest.mark.parametrize("name", [name for name, op in REGISTRY.items() if not op.leaf and not op.defined_everywhere])
def test_not_defined_everywhere_fails_somewhere(name):
    """Each op left out of defined_everywhere is nan or inf at some finite input (or overflows there)."""
    op = REGISTRY[name]
    grid = np.array([-1e300, -1e3, -2.0, -1.0, 0.0, 1.0, 2.0, 1e3, 1e300])
    operands = FAILING.get(name) or np.meshgrid(*[grid] * (1 if op.arity < 0 else op.arity))
    with np.errstate(all="ignore"):
        try:
            result = op.impl(*operands)
        except np.linalg.LinAlgError:
            assert name in FAILING  # raised where a matrix has no inverse, never by a shape the grid gives
            return
        assert not np.all(np.isfinite(result)), name


def test_mean_over_named_dimensions_divides_by_their_size(rng):
    # `size` is the mean gradient's divisor when dimensions are names.
    fn = gradc.compile("mean(X)", shapes={"X": ("n", "d")})
    X = rng.standard_normal((4, 5))
    np.testing.assert_allclose(fn.grad(X=X)["X"], np.full((4, 5), 1 / 20))
    assert "n * d" in fn.source


# Public ops through the whole pipeline: source text -> module -> gradient vs differences of forward.
TEMPLATES = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
             "pow": "{0} ** {1}", "neg": "-{0}", "maximum": "maximum({0}, {1})", "minimum": "min({0}, {1})",
             "matmul": "{0} @ {1}", "transpose": "{0}.T", "logabsdet": "np.linalg.slogdet({0})[1]"}
NAMED = {2: "m", 3: "n", 4: "k"}  # the compiled cases name their dimensions; 1 stays a literal 1


def named(shape):
    return tuple(NAMED.get(d, d) for d in shape)


def _slices_a_length(attrs):
    return any(isinstance(item, Slice) and not item.keeps_whole() for item in attrs.get("index", ()))


def _needs_sizes(name, attrs):
    """A slice that cuts, copies of an axis (repeat, tile) or a reshape need concrete sizes (their results'
    lengths are products, which a declared shape cannot name; tests/test_vocab_shaping.py compiles them)."""
    return _slices_a_length(attrs) or name in ("repeat", "tile", "repeat_sum", "tile_sum", "reshape", "ravel")


def public_cases():
    for name, op in REGISTRY.items():
        if not op.public or op.leaf:  # leaves: LEAF_SOURCES below
            continue
        if name in SPECIAL:
            for shapes, attrs in SPECIAL[name]:
                shapes = shapes if op.arity != 1 else (shapes,)
                yield pytest.param(name, shapes, attrs, id=f"{name}-{_label(shapes, attrs)}")
        else:
            for shapes in (BINARY_SHAPES if op.arity == 2 else [(s,) for s in UNARY_SHAPES]):
                yield pytest.param(name, shapes, {}, id=f"{name}-{_label(shapes, {})}")


def _literal(value):
    """An attribute as the source writes it: np.inf for infinity."""
    if isinstance(value, float) and np.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def source_for(name, attrs, count=None, weighted=True):
    """`sum(W * (op(a0, ...)))`, W a random array of the output's shape; `sum(op(a0, ...))` where not weighted."""
    if name in TEMPLATES and not attrs.get("axes"):
        text = TEMPLATES[name].format("a0", "a1")
    elif name == "einsum":
        text = f"einsum({attrs['spec']!r}, " + ", ".join(f"a{i}" for i in range(attrs["spec"].count(",") + 1)) + ")"
    elif name == "index":
        text = "a0[" + ", ".join(map(str, attrs["index"])) + "]"
    else:
        keywords = "".join(f", {k}={_literal(v)}" for k, v in attrs.items())
        op = REGISTRY[name]
        args = ", ".join(f"a{i}" for i in range(op.arity if op.arity >= 0 else count))
        args = f"({args},)" if op.sequence else args  # concatenate((a0, a1), axis=0)
        called = op.names[0]
        text = f"np.{called}({args}{keywords})" if name in ("exp", "sum") else f"{called}({args}{keywords})"
    return f"sum(W * ({text}))" if weighted else f"sum({text})"


@pytest.mark.parametrize("weighted", [True, False], ids=["weighted", "summed"])
@pytest.mark.parametrize("name, shapes, attrs", list(public_cases()))
def test_compiled_gradient_matches_central_differences(name, shapes, attrs, weighted, rng):
    """Summed with weights, and summed whole: then the sum's adjoint reaches the op as one scalar standing for
    a broadcast (`scalar_adjoint`), which each op's rule must take as that."""
    _, out = build(name, shapes, attrs)
    # a slice that cuts, a join (n + m has no name), an off diagonal (n - 1), or copies and reshapes (products)
    # need concrete sizes
    concrete = (_needs_sizes(name, attrs) or REGISTRY[name].sequence
                or name in ("diag", "diagonal", "undiagonal", "kron"))
    sized = tuple if concrete else named
    symbolic = {f"a{i}": sized(s) for i, s in enumerate(shapes)}
    if weighted:
        symbolic["W"] = sized(out.shape)
    integers = {f"a{i}" for i in range(len(shapes)) if REGISTRY[name].operand_domain(i).integer}  # indices
    if any(not symbolic[k] for k in integers):
        pytest.skip("a scalar index: gradc's integer inputs are arrays (the op's rules are checked above)")
    symbolic.update({k: gradc.Int(*symbolic[k]) for k in integers})
    fn = gradc.compile(source_for(name, attrs, len(shapes), weighted), shapes={k: v for k, v in symbolic.items() if v})
    arrays = draw(name, shapes, rng)
    if weighted:
        arrays["W"] = rng.standard_normal(out.shape) if out.shape else float(rng.standard_normal())
    value, grads = fn.value_and_grad(**arrays)
    np.testing.assert_allclose(value, fn.forward(**arrays), rtol=1e-13)
    assert set(grads) == set(arrays) - integers
    for n in grads:
        assert np.shape(grads[n]) == np.shape(arrays[n]), n
        assert isinstance(grads[n], float) if not np.shape(arrays[n]) else grads[n].dtype == np.float64
    assert_grad_matches(fn.forward, grads, arrays, list(grads), rng)


# Public leaves (arrays made from a shape): a source each, with the NumPy array it means at m = 2, n = 3.
LEAF_SOURCES = {
    "zeros": ("zeros((m, 3))", ("m", 3), np.zeros((2, 3))), "ones": ("np.ones(n)", ("n",), np.ones(3)),
    "full": ("full((n, m), -0.5)", ("n", "m"), np.full((3, 2), -0.5)),
    "eye": ("eye(n, m, k=-1)", ("n", "m"), np.eye(3, 2, k=-1)),
    "identity": ("np.identity(n)", ("n", "n"), np.identity(3)),
    "literal": ("np.array([[1, -2.5], [0.5, 3]])", (2, 2), np.array([[1, -2.5], [0.5, 3]])),
}


def test_every_public_leaf_has_a_source():
    assert set(LEAF_SOURCES) == {name for name, op in REGISTRY.items() if op.leaf and op.public}


@pytest.mark.parametrize("name", sorted(LEAF_SOURCES))
def test_public_leaves_compile_to_their_numpy_meaning(name, rng):
    text, shape, expected = LEAF_SOURCES[name]
    fn = gradc.compile(f"sum(W * {text})", shapes={"W": shape})
    W = rng.standard_normal(expected.shape)
    assert fn.forward(W=W) == pytest.approx(np.sum(W * expected), rel=1e-13)
    np.testing.assert_array_equal(fn.grad(W=W)["W"], expected)  # d/dW sum(W * c) is c
