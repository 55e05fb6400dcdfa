"""Compare compiled derivatives with finite differences: `gradc check` and the tests use it.

The random point keeps each input inside the domains of the ops that read it (their entries' `domain`): log's
operand is drawn from (0.5, 2), not from a standard normal that makes half of it nan. Where an input reaches a
restricted op only through other ops (log(x - 1)), `finite_draw` redraws until the value and derivative are
finite. `check` compares each derivative element with central differences and, where the one-sided differences
disagree, says the function is not differentiable there rather than calling the gradient wrong.
"""
import math
from typing import NamedTuple

import numpy as np

from gradc.errors import GradcError, ShapeError
from gradc.ops.domain import Domain, intersect, sample_pieces
from gradc.ops.gathers import index_reads, indices

MAX_DIFFERENCED = 100_000  # entries `gradc check` differences: each costs two evaluations of the whole function
MAX_JACOBIAN = 1_000_000  # entries of a Jacobian `check` compares
REDRAWS = 8  # random points `finite_draw` tries before it gives up
# Where the first draws give nan or inf: the inputs no domain restricts are drawn from these in turn.
FALLBACKS = (None, None, Domain(0.5, 2.0), Domain(1.0, 3.0), Domain(-2.0, -0.5), Domain(2.0, 5.0),
             Domain(-3.0, -1.0), Domain(0.1, 0.9))
NORMAL = "the standard normal"
KINK = 1e-3  # one-sided differences further apart than this (relative) mark a point where f is not differentiable


class Draw(NamedTuple):
    point: dict  # input name -> value
    notes: tuple  # one line per drawn input: where it was drawn from, and why


class Row(NamedTuple):
    """One element of one derivative: d output[out] / d name[index]."""
    name: str
    index: tuple
    out: tuple  # the output element (() for a scalar output)
    compiled: float
    numeric: float  # central difference
    left: float  # one-sided differences
    right: float
    error: float
    relative: float  # at a kink: how far the compiled value lies outside [left, right]
    kink: bool

    @property
    def label(self):
        element = self.name + (str(list(self.index)) if self.index else "")
        return f"df{list(self.out)}/d{element}" if self.out else element


def input_domains(fn):
    """Input name -> [(op label, Domain)]: the restricted domains of the ops reading the input directly."""
    graph = fn.stages.parsed
    names = {node: name for name, node in graph.inputs.items()}
    found = {name: [] for name in graph.inputs}
    for node in graph.order():
        op = graph.op(node)
        if op.leaf or not op.domain:
            continue
        for i, arg in enumerate(graph.args(node)):
            domain = op.operand_domain(i)
            if arg in names and domain.restricted and (op, domain) not in [(o, d) for o, d in found[names[arg]]]:
                found[names[arg]].append((op, domain))
    return {name: [(_label(op), d) for op, d in pairs] for name, pairs in found.items()}


def _label(op):
    """How the source most likely wrote the op: `/` (not divide), `**`, log."""
    return op.operator or (op.names[0] if op.names else op.name)


def random_point(fn, at=None, seed=0, size=3):
    """Values for every input: those in `at`, random ones inside their ops' domains for the rest (named dims get
    `size`, `size + 1`, ...)."""
    return draw(fn, at, seed, size).point


def draw(fn, at=None, seed=0, size=3, attempt=0):
    """The point of `random_point` with a line for each drawn input; `attempt` > 0 draws again (see FALLBACKS)."""
    rng = _generator(seed)
    if attempt:
        rng = _generator([seed, attempt])
    at = dict(at or {})
    graph = fn.stages.parsed
    stray = [name for name in at if name not in graph.inputs]
    if stray:  # a misspelt name would otherwise leave its input random, and the check at a point never asked for
        raise GradcError(f"a value is given for {', '.join(stray)}, which is not an input "
                         f"(inputs: {', '.join(graph.inputs)})")
    sizes = {}
    for name, node in graph.inputs.items():  # dims bound by given arrays first
        if name in at:
            for dim, n in zip(graph.shape(node), np.shape(at[name])):
                sizes.setdefault(dim, n)
    domains = input_domains(fn)
    fallback = FALLBACKS[attempt % len(FALLBACKS)]
    point, notes, normal = {}, [], []
    integers = graph.integer_inputs()
    for name, node in graph.inputs.items():
        if name in integers and name not in at:
            continue  # drawn below, once the sizes of the axes they index are known
        if name in at:
            given = indices(at[name], f"the value of {name}") if name in integers else at[name]
            point[name] = given if np.ndim(given) else float(given)
            continue
        shape = tuple(d if isinstance(d, int) else sizes.setdefault(d, size + len(sizes)) for d in graph.shape(node))
        restricted = domains[name]
        whole = [domain for _, domain in restricted if domain.structured]
        if whole:  # a matrix that must be invertible: drawn as one
            point[name] = _values(name, shape, lambda: whole[0].sample(rng, shape))
            needs = ", ".join(f"{label} needs {domain.need.format(name)}" for label, domain in restricted)
            notes.append(f"drew {name} from {whole[0]} ({needs})")
        elif restricted:
            pieces = restricted[0][1].pieces()
            for _, domain in restricted[1:]:
                pieces = intersect(pieces, domain.pieces()) or pieces  # no common part: the first domain's
            point[name] = _values(name, shape, lambda: sample_pieces(pieces, rng, shape))
            needs = ", ".join(f"{label} needs {domain.need.format(name)}" for label, domain in restricted)
            notes.append(f"drew {name} from {_pieces(pieces)} ({needs})")
        elif fallback is None:
            point[name] = _values(name, shape, lambda: rng.standard_normal(shape) if shape
                                  else float(rng.standard_normal()))
            normal.append(name)
        else:
            point[name] = _values(name, shape, lambda: fallback.sample(rng, shape))
            notes.append(f"drew {name} from {fallback}")
    if normal:
        notes.append(f"drew {', '.join(normal)} from {NORMAL}")
    for name in integers:
        if name not in at:
            point[name], note = _indices(graph, name, sizes, size, rng)
            notes.append(note)
    return Draw(point, tuple(notes))


def _indices(graph, name, sizes, size, rng):
    """Random integers in range for every axis the integer input `name` indexes (0 up to the shortest)."""
    shape = tuple(d if isinstance(d, int) else sizes.setdefault(d, size + len(sizes))
                  for d in graph.shape(graph.inputs[name]))
    lengths = [dim if isinstance(dim, int) else sizes.setdefault(dim, size + len(sizes))
               for _, reader, dim in index_reads(graph) if reader == name]
    bound = min(lengths, default=size)
    if bound == 0:
        raise ShapeError(f"cannot draw indices for {name}: the axis it indexes has length 0")
    return rng.integers(0, bound, size=shape), f"drew {name} from the integers 0 to {bound - 1} (indices)"


def _pieces(pieces):
    if len(pieces) == 2 and pieces[0] == (-pieces[1][1], -pieces[1][0]):
        return "±" + _interval(pieces[1])
    return " or ".join(_interval(p) for p in pieces)


def _interval(piece):
    return f"({piece[0]:g}, {piece[1]:g})"


def _generator(seed):
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise GradcError(f"seed must be a whole number >= 0, got {seed!r}") from None


def _values(name, shape, make):
    try:
        return make()
    except (MemoryError, ValueError) as error:  # ValueError: more entries than an array can index
        raise ShapeError(f"cannot make a random value for {name} of shape {shape}: {error}") from None


def finite_draw(fn, at=None, seed=0, size=3, attempts=REDRAWS, first=None):
    """A Draw where the value and the derivative are finite: `first` (or the first draw) if they are there, else
    new draws, up to `attempts` in all. With every input given there is nothing to redraw: the point is kept."""
    given = set(at or ())
    current = first or draw(fn, at, seed, size)
    if given >= set(fn.stages.parsed.inputs):
        return current
    for attempt in range(attempts):
        if attempt:
            current = draw(fn, at, seed, size, attempt)
        if _finite(fn, current.point):
            if attempt:
                return Draw(current.point, current.notes + (
                    f"(drawn {attempt + 1} times: the value or derivative was not finite at the earlier points)",))
            return current
    first = "; ".join(draw(fn, at, seed, size).notes)
    raise GradcError(f"the value or derivative is not finite at any of {attempts} random points (the first: "
                     f"{first.removeprefix('drew ')}): give a point where it is, with --at")


def _finite(fn, point):
    with np.errstate(all="ignore"):
        value = fn.forward(**point)
        if not np.all(np.isfinite(value)):
            return False
        if not fn.wrt:
            return True
        if np.ndim(value) == 0:
            grads = fn.grad(**point)
        else:
            grads = fn.vjp(np.ones(np.shape(value)), **point)[1]
        return all(np.all(np.isfinite(g)) for g in grads.values())


def limit_differences(fn, point, limit=MAX_DIFFERENCED):
    """Refuses a check that would difference more than `limit` entries, which would run for hours."""
    entries = sum(math.prod(np.shape(point[name])) for name in fn.wrt)
    if entries > limit:
        raise ShapeError(f"the check would difference {entries} entries, two evaluations of the function each "
                         f"(the limit is {limit}): give smaller sizes, or fewer inputs with --wrt")


def _step(base, i, eps):
    return eps * max(1.0, abs(base.flat[i]))


def _shifted(point, name, base, i, delta):
    shifted = base.copy()
    shifted.flat[i] += delta
    return {**point, name: shifted if shifted.shape else float(shifted)}


def finite_differences(fn, point, name, eps=1e-6):
    """The gradient of `fn` with respect to input `name` by central differences."""
    _check_eps(eps)
    base = np.array(point[name], dtype=np.float64)
    grad = np.zeros_like(base)
    flat = grad.reshape(-1)
    for i in range(base.size):
        step = _step(base, i, eps)
        values = [float(fn.forward(**_shifted(point, name, base, i, sign * step))) for sign in (1, -1)]
        flat[i] = (values[0] - values[1]) / (2 * step)
    return grad


def _check_eps(eps):
    try:
        step = float(eps)
    except (TypeError, ValueError):
        step = math.nan
    if not 0 < step < math.inf:  # 0 divides by zero; nan and inf make every row nan
        raise GradcError(f"eps must be a finite number > 0, got {eps!r}")


def compare(fn, point, eps=1e-6):
    """Rows (input, index, compiled, numeric, abs error, rel error) for every element of every gradient."""
    _check_eps(eps)
    grads = fn.grad(**point)
    rows = []
    for name in fn.wrt:
        numeric = finite_differences(fn, point, name, eps)
        analytic = np.asarray(grads[name], dtype=np.float64)
        if analytic.shape != numeric.shape:
            raise ShapeError(f"gradient of {name} has shape {analytic.shape}, expected {numeric.shape}")
        for index in np.ndindex(numeric.shape):
            a, b = float(analytic[index]), float(numeric[index])
            error = abs(a - b)
            rows.append((name, index, a, b, error, error / max(1.0, abs(a), abs(b))))
    return rows


def check(fn, point, eps=1e-6):
    """Rows for every element of every derivative: the gradient for a scalar output, else the Jacobian
    (d output[j] / d input[i]), compared with central differences; a Row is a kink where the one-sided
    differences disagree, and its error is then how far the compiled value lies outside them."""
    _check_eps(eps)
    center = np.asarray(fn.forward(**point), dtype=np.float64)
    entries = center.size * sum(np.size(point[name]) for name in fn.wrt)
    if center.ndim and entries > MAX_JACOBIAN:
        raise ShapeError(f"the Jacobian has {entries} entries (the limit is {MAX_JACOBIAN}): give smaller sizes, "
                         "or check a scalar such as sum(c * f) for a constant array c")
    derivatives = fn.grad(**point) if center.ndim == 0 else fn.jacobian(**point)
    rows = []
    for name in fn.wrt:
        base = np.array(point[name], dtype=np.float64)
        compiled = np.asarray(derivatives[name], dtype=np.float64)
        if compiled.shape != center.shape + base.shape:
            raise ShapeError(f"derivative of {name} has shape {compiled.shape}, expected {center.shape + base.shape}")
        for i, index in enumerate(np.ndindex(base.shape)):
            step = _step(base, i, eps)
            up, down = (np.asarray(fn.forward(**_shifted(point, name, base, i, sign * step)), dtype=np.float64)
                        for sign in (1, -1))
            for out in np.ndindex(center.shape):
                rows.append(_row(name, index, out, float(compiled[out + index]), float(up[out]), float(center[out]),
                                 float(down[out]), step))
    return rows


def _row(name, index, out, compiled, up, center, down, step):
    numeric = (up - down) / (2 * step)
    left, right = (center - down) / step, (up - center) / step
    scale = max(1.0, abs(left), abs(right))
    rounding = 8 * np.finfo(np.float64).eps * max(abs(up), abs(center), abs(down)) / step
    kink = abs(right - left) > max(KINK * scale, 100 * rounding)
    if kink:
        low, high = min(left, right), max(left, right)
        error = max(low - compiled, compiled - high, 0.0)
        relative = error / max(scale, abs(compiled))
    else:
        error = abs(compiled - numeric)
        relative = error / max(1.0, abs(compiled), abs(numeric))
    if math.isnan(relative):
        relative = math.inf
    return Row(name, index, out, compiled, numeric, left, right, error, relative, kink)
