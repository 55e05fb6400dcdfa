"""What an op entry is: the Op record, the REGISTRY it joins, and the Value handles its rules build with."""
from dataclasses import dataclass
from typing import Callable, Optional

from gradc.errors import DifferentiationError
from gradc.ops.formula import Formula

REGISTRY = {}  # name -> Op, in definition order


# Op.floats: what the op does to scalars that are Python floats (the NumPy backend keeps them so where it can).
CLOSED = "closed"  # gives a Python float, and never raises
DIVIDES = "divides"  # gives a Python float; raises ZeroDivisionError where its last operand is 0
RAISES = "raises"  # gives a Python float, but may raise (OverflowError) where NumPy gives inf or nan
NUMPY = "numpy"  # gives a NumPy scalar (or not a float at all): the float type is left


@dataclass(frozen=True)
class Op:
    """One operation.

    Attributes:
        name: the op's name in graphs and dumps.
        arity: number of graph operands (-1: any number; 0: a leaf, built from its attributes alone).
        shape: `shape(*arg_shapes, **attrs) -> shape`; raises ShapeError.
        impl: `impl(*arrays, **attrs)`, the NumPy meaning, used to fold constants and to evaluate graphs.
        vjp: `vjp(g, out, *args, **attrs) -> contributions`, built from Values; None for a leaf.
        jvp: `jvp(tangents, out, *args, **attrs) -> tangent`, one tangent Value per operand (None is zero),
            built from Values like the VJP; the result may be None (zero).
        differentiable: False where the derivative is 0 by design (comparisons): the rules give None.
        symbol: the gate's label in pictures.
        doc: one line for `gradc ops`.
        formula: how it reads in `gradc explain` (gradc/ops/formula.py).
        names: the source names it is called by (each also as np.<name>).
        operator: the operator that writes it in source text (`+`, unary `-`, `@`, `.T`, `[]`).
        keywords: (attribute, default) pairs the source may give: sum(x, axis=None, keepdims=False).
        positional: how many of the keywords the source may also give by position after the operands
            (np.sum(X, 1), np.tril(X, -1)); None: the first when it is axis, else none.
        attributes: `attributes(**keywords) -> attrs`, where the source's keywords are not the op's attributes
            (eye(N, M, k) makes shape=(N, M)); None: they are.
        sequence: a variadic op whose first source argument is a tuple or list of arrays (concatenate((a, b))):
            its elements are the operands.
        builtin: Python's builtin of the same meaning, called without np. (max(a, b) is maximum).
        elementwise: broadcasting elementwise op (its VJP accepts an adjoint of any broadcastable shape).
        view: the result may share memory with an operand.
        scalar_adjoint: the VJP rule also accepts a scalar adjoint standing for a broadcast one.
        inline: written in place inside its consumer's expression, never a line of its own (x.T, a count).
        floats: on Python floats: CLOSED, DIVIDES, RAISES or NUMPY (above).
        domain: where the derivative rule holds, one Domain per operand (gradc/ops/domain.py; a variadic op
            has one for all): the op tests and `gradc check` draw operands from it.
        defined_everywhere: the op is defined and finite at every finite input (so a rewrite may drop it
            without dropping a nan: gradc/transform/rules.py).
    """

    name: str
    arity: int
    shape: Callable
    impl: Callable
    vjp: Optional[Callable] = None
    jvp: Optional[Callable] = None
    differentiable: bool = True
    symbol: str = ""
    doc: str = ""
    formula: Optional[Formula] = None
    names: tuple = ()
    operator: str = ""
    keywords: tuple = ()
    positional: Optional[int] = None
    attributes: Optional[Callable] = None
    sequence: bool = False
    builtin: str = ""
    elementwise: bool = False
    view: bool = False
    scalar_adjoint: bool = False
    inline: bool = False
    floats: str = NUMPY
    domain: tuple = ()
    defined_everywhere: bool = False

    @property
    def leaf(self):
        """No operands: an input, a constant, or an array made from attributes alone (zeros, eye)."""
        return self.arity == 0

    @property
    def public(self):
        """Part of the source language, by a name or an operator."""
        return bool(self.names or self.operator)

    def operand_domain(self, i):
        """The Domain of operand `i`."""
        return self.domain[0] if self.arity < 0 else self.domain[i]

    def rule(self, kind):
        rule = getattr(self, kind)
        if rule is None:
            raise DifferentiationError(f"operation '{self.name}' has no {kind} rule")
        return rule


def defop(op):
    """Register `op` (names are unique) and return it."""
    assert op.name not in REGISTRY, op.name
    REGISTRY[op.name] = op
    return op


class Value:
    """A handle on a graph node whose operators build new nodes, so derivative rules read like math."""

    __slots__ = ("graph", "node")

    def __init__(self, graph, node):
        self.graph = graph
        self.node = node

    @property
    def shape(self):
        return self.graph.shape(self.node)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def T(self):
        return call("transpose", self, axes=None)

    def _lift(self, other):
        return other if isinstance(other, Value) else Value(self.graph, self.graph.const(other))

    def _binary(self, name, other, reverse=False):
        other = self._lift(other)
        return call(name, other, self) if reverse else call(name, self, other)

    def __add__(self, other): return self._binary("add", other)
    def __radd__(self, other): return self._binary("add", other, reverse=True)
    def __sub__(self, other): return self._binary("sub", other)
    def __rsub__(self, other): return self._binary("sub", other, reverse=True)
    def __mul__(self, other): return self._binary("mul", other)
    def __rmul__(self, other): return self._binary("mul", other, reverse=True)
    def __truediv__(self, other): return self._binary("div", other)
    def __rtruediv__(self, other): return self._binary("div", other, reverse=True)
    def __pow__(self, other): return self._binary("pow", other)
    def __matmul__(self, other): return self._binary("matmul", other)
    def __neg__(self): return call("neg", self)


def call(name, *args, like=None, **attrs):
    """Build `name(*args, **attrs)` in the graph of the first Value argument, or of `like` for an op with none
    (`call("eye", shape=(n, n), like=x)`)."""
    graph = like.graph if like is not None else next(a.graph for a in args if isinstance(a, Value))
    nodes = [a.node if isinstance(a, Value) else graph.const(a) for a in args]
    return Value(graph, graph.add(name, nodes, **attrs))


def tangent_sum(*terms):
    """The sum of the terms that are not None (a None tangent is zero), or None when all are."""
    terms = [t for t in terms if t is not None]
    total = terms[0] if terms else None
    for term in terms[1:]:
        total = total + term
    return total


def each(tangents, *rules):
    """Forward mode's sum rule: `rules[i](tangents[i])` for each operand moving, added up."""
    return tangent_sum(*(rule(t) for t, rule in zip(tangents, rules) if t is not None))


def linear(name):
    """The JVP of an op linear in its one operand: the op itself, applied to the tangent."""
    return lambda tangents, out, x, **attrs: call(name, tangents[0], **attrs)


def diagonal(vjp):
    """The JVP of an elementwise op from its VJP: a diagonal Jacobian is its own transpose."""
    def jvp(tangents, out, *args, **attrs):
        return tangent_sum(*(vjp(t, out, *args, **attrs)[i] for i, t in enumerate(tangents) if t is not None))
    return jvp
