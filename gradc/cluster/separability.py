"""Which data dimension a loss is a sum over, found on the graph as written (`fn.separable`).

A dimension n is a data dimension of a scalar loss when the inputs that carry it (the data: X, y) carry it on
one axis each, the other inputs (the parameters) do not carry it, and every path from the data to the output
passes through a reduction over n (a sum, a mean, or a matmul contracting n: X.T @ y) before any op that would
mix rows. Up to those reductions every value is computed row by row, so a chunk of rows computes its part of
each reduction by itself; after them nothing carries n, and the rest is a function of the reductions' values.

NOTE: the walk is sound by construction rather than complete: an op joins the row-by-row part only where its
rule here says how it keeps rows apart (elementwise ops, reductions and softmaxes along other axes,
transposes, matmuls along other axes). Any other op reached by rows, or a reduction's value used again per row
(`X@w - mean(X@w)`, which needs a pass of its own), is a SeparabilityError naming that term.
"""
from dataclasses import dataclass

from gradc.errors import GradcError
from gradc.shapes import normalize_axes

# Reductions whose per-chunk values add up to the whole (a mean's after weighting by its chunk's share of rows).
SUMS = ("sum", "mean")
# Ops that act along one axis (`axis=`): rows stay apart when it is not the data dimension's.
ALONG_AXIS = ("softmax", "log_softmax", "logsumexp", "amax", "amin")


class SeparabilityError(GradcError):
    """The loss mixes the rows of a data dimension: it cannot be computed a chunk of rows at a time."""


@dataclass(frozen=True)
class Reduction:
    """A node of the graph reducing over the data dimension, whose chunk values add up to its value."""

    node: int
    weighted: bool  # a mean: each chunk's value counts by its share of the rows


@dataclass(frozen=True)
class Split:
    """How a loss separates over `dim`: the data inputs and their row axes, the reductions over rows, and the
    nodes computed after them (from the reductions' values and the parameters)."""

    dim: str
    axes: dict  # data input name -> the axis that carries dim
    reductions: tuple  # Reductions in graph order
    after: frozenset  # nodes computed from reductions' values (and parameters), never from rows

    @property
    def data(self):
        return tuple(self.axes)

    @property
    def single(self):
        """The output is one reduction itself: one pass per step gives the value and the gradient."""
        return len(self.reductions) == 1 and not self.after


def candidates(graph):
    """The named dims of the inputs that a scalar loss may be a sum over, in order of first appearance."""
    if graph.shape(graph.outputs[0]) != ():
        return ()
    dims = [d for node in graph.inputs.values() for d in graph.shape(node) if isinstance(d, str)]
    return tuple(dict.fromkeys(dims))


def separable(graph, params=()):
    """The dims the loss is separable in (empty when none): `fn.separable`. `params` names inputs that are
    parameters, never data (a compile's wrt, when it is not every input)."""
    found = []
    for dim in candidates(graph):
        try:
            split(graph, dim, params)
        except SeparabilityError:
            continue
        found.append(dim)
    return tuple(found)


def split(graph, dim, params=()):
    """The Split of `graph`'s loss over the data dimension `dim`; a SeparabilityError naming the coupling term.

    NOTE: a data dimension is one the loss sums or averages over: X@w contracts d as a sum, but X and w are
    hardly d's data, so a dim reduced only inside matmuls is no data dimension (its Split would be sound).
    """
    carrying = [name for name in params if name in graph.inputs and dim in graph.shape(graph.inputs[name])]
    if carrying:
        raise SeparabilityError(f"the parameter {carrying[0]} carries {dim}, so {dim} is no data dimension")
    if graph.shape(graph.outputs[0]) != ():
        raise SeparabilityError(f"the output has shape {graph.shape(graph.outputs[0])}: only a scalar loss is "
                                f"a sum over {dim}")
    walk = _Walk(graph, dim)
    for node in graph.order():
        walk.visit(node)
    output = graph.outputs[0]
    axes = {name: walk.rows[node] for name, node in graph.inputs.items() if node in walk.rows}
    if not axes:
        raise SeparabilityError(f"no input carries {dim}")
    if not any(graph.op(r.node).name in SUMS for r in walk.reductions):
        raise SeparabilityError(f"the loss is not a sum or mean over {dim}")
    return Split(dim, axes, tuple(walk.reductions), frozenset(walk.after & set(graph.order([output]))))


class _Walk:
    """One pass over the graph in order: for each node, whether it is computed row by row (and on which axis
    the rows lie), a reduction over rows, or after the reductions."""

    def __init__(self, graph, dim):
        self.graph, self.dim = graph, dim
        self.rows = {}  # node -> axis of dim: computed row by row
        self.reductions = []
        self.reduced = set()  # reduction nodes
        self.after = set()  # nodes that read a reduction's value, directly or not

    def visit(self, node):
        graph = self.graph
        args = graph.args(node)
        shape = graph.shape(node)
        row_args = [arg for arg in args if arg in self.rows]
        if any(arg in self.reduced or arg in self.after for arg in args):
            if row_args:
                late = next(arg for arg in args if arg in self.reduced or arg in self.after)
                raise self._coupled(node, f"{self._text(late)} is a reduction over {self.dim} used again row by "
                                          f"row, which needs a pass of its own")
            self.after.add(node)
        if graph.op(node).name == "input":
            return self._input(node, shape)
        if not row_args:
            if self.dim in shape:
                raise self._coupled(node, f"it builds an array along {self.dim} from no data")
            return None
        axis = self._row_rule(node, row_args)
        if axis is None:  # a reduction over rows
            self.reductions.append(Reduction(node, weighted=graph.op(node).name == "mean"))
            self.reduced.add(node)
        else:
            self.rows[node] = axis
        return None

    def _input(self, node, shape):
        count = shape.count(self.dim)
        if count > 1:
            raise self._coupled(node, f"it has {self.dim} on {count} axes")
        if count:
            self.rows[node] = shape.index(self.dim)

    def _row_rule(self, node, row_args):
        """The row axis of `node`, None where it is a reduction over rows; a SeparabilityError where it mixes rows."""
        graph, dim = self.graph, self.dim
        op, shape, attrs = graph.op(node), graph.shape(node), graph.attrs(node)
        if op.elementwise:
            return self._once(node, "broadcasting puts the rows on two axes")
        if op.name in SUMS:
            (arg,) = graph.args(node)
            if self.rows[arg] in normalize_axes(graph.shape(arg), attrs.get("axis"), op.name):
                return None
            return self._once(node, "")
        if op.name in ALONG_AXIS:
            (arg,) = graph.args(node)
            if self.rows[arg] in normalize_axes(graph.shape(arg), attrs.get("axis"), op.name):
                raise self._coupled(node, f"{op.name} along {dim} mixes the rows")
            return self._once(node, "")
        if op.name == "transpose":
            return self._once(node, "")
        if op.name == "matmul":
            return self._matmul(node, row_args)
        if op.name == "index" and self._index_keeps_rows(node):
            return self._once(node, "")
        raise self._coupled(node, f"{op.name} is not known to keep the rows of {dim} apart")

    def _matmul(self, node, row_args):
        graph, dim = self.graph, self.dim
        a, b = graph.args(node)
        a_shape, b_shape = graph.shape(a), graph.shape(b)
        contracted_a = len(a_shape) - 1
        contracted_b = 0 if len(b_shape) == 1 else len(b_shape) - 2
        if a in self.rows and b in self.rows and self.rows[a] == contracted_a and self.rows[b] == contracted_b:
            if dim in graph.shape(node):
                raise self._coupled(node, f"it pairs rows of {dim} on more than one axis")
            return None  # X.T @ y: a sum over rows of per-row products
        if len(row_args) > 1 or dim not in graph.shape(node):
            raise self._coupled(node, f"it pairs each row of {dim} with every other")
        return self._once(node, "")

    def _index_keeps_rows(self, node):
        """x[i] reads within each row: integers that index only axes before the row axis (X.T[0] is a column)."""
        (arg,) = self.graph.args(node)
        index = self.graph.attrs(node).get("index", ())
        return all(isinstance(i, int) for i in index) and len(index) <= self.rows[arg]

    def _once(self, node, why):
        """The axis of dim in node's shape, which must hold it exactly once."""
        shape = self.graph.shape(node)
        if shape.count(self.dim) != 1:
            raise self._coupled(node, why or f"it has {self.dim} on {shape.count(self.dim)} axes")
        return shape.index(self.dim)

    def _coupled(self, node, why):
        span = self.graph[node]["span"]
        error = SeparabilityError(f"the loss is not separable in {self.dim}: {self._text(node)} couples the rows"
                                  f" ({why}); write the loss as a sum or mean over {self.dim} of per-row terms",
                                  self.graph.source, span.line if span else None, span.column if span else None)
        return error

    def _text(self, node):
        span = self.graph[node]["span"]
        data = self.graph[node]
        if data["op"] == "input":
            return dict(data["attrs"])["var"]
        return f"`{span.text}`" if span is not None else data["op"]
