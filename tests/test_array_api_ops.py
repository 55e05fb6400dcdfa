"""The op table on the array-api backend: every case of tests/test_ops.py, compiled by both backends and run
on array-api-strict, gives the NumPy module's value and gradients (1e-9); and NumPy documentation examples
of the functions that the standard spells differently (cbrt, logaddexp2, erf, norm, cumsum...)."""
import math
import re

import numpy as np
import pytest

from gradc import pipeline
from gradc.backend.load import load_module
from gradc.errors import GradcError, ShapeError
from gradc.ops import REGISTRY
from gradc.shapes import Int
from gradc.backend.interpret import evaluate
from test_ops import ONCE, build, cases, domains, draw, named, public_cases, source_for

strict = pytest.importorskip("array_api_strict")


def _on_strict(value):
    return np.asarray(strict.asarray(value, copy=True)._array) if hasattr(value, "__array_namespace__") \
        else np.asarray(value)


def _compare(numpy_module, module, arrays):
    """value_and_grad of the array-api module on strict arrays = the NumPy module's on NumPy arrays."""
    value, grads = numpy_module.value_and_grad(**arrays)
    got_value, got = module.value_and_grad(**{name: strict.asarray(array) for name, array in arrays.items()})
    np.testing.assert_allclose(_on_strict(got_value), value, rtol=1e-9, atol=1e-12)
    assert set(got) == set(grads)
    for name in grads:
        assert _on_strict(got[name]).shape == np.shape(grads[name]), name
        np.testing.assert_allclose(_on_strict(got[name]), grads[name], rtol=1e-9, atol=1e-12, err_msg=name)


def _emitted(name, compile_):
    """`compile_()`, skipped by name where the op was added without an array-api lowering and the compiler
    refuses it (test_array_api_backend checks that error); composites (softmax) are lowered before emission."""
    try:
        return compile_()
    except GradcError as error:
        missing = re.search(r"operation '(\w+)' has no lowering for the array-api backend", str(error))
        if missing is None:
            raise
        # the op itself, or one its derivative or rewrite is made of (batched @ through einsum)
        pytest.skip(f"{missing.group(1)} has no array-api lowering yet (for {name})")


@pytest.mark.parametrize("name, shapes, attrs", list(cases()))
def test_op_graph_on_strict_matches_the_interpreter(name, shapes, attrs, rng):
    """Every op, internal ones included (sum_to, scatter, rcumsum, take_add...), as the graph sum(W * op(a...)):
    the module's value and gradients on strict arrays = the interpreter's (gradc/backend/interpret.py) of the
    graph it was emitted from, and the NumPy module's."""
    graph, out = build(name, shapes, attrs)
    integer = [f"a{i}" for i, domain in enumerate(domains(name)[:len(shapes)]) if domain.integer]
    wrt = () if name in ONCE else tuple(n for n in graph.inputs if n not in integer)
    stages = _emitted(name, lambda: pipeline.run_graph(graph, wrt, "test", backend="array-api"))
    module = load_module(stages.source)
    arrays = draw(name, shapes, rng)
    arrays["W"] = rng.standard_normal(out.shape)
    values = evaluate(stages.final, arrays)
    got_value, got = module.value_and_grad(**{k: strict.asarray(v) for k, v in arrays.items()})
    expected = [values[node] for node in stages.final.outputs]
    assert len(expected) == 1 + len(got)
    for name_, want, found in zip(("value",) + wrt, expected, [got_value] + [got[n] for n in wrt]):
        assert _on_strict(found).shape == np.shape(want), name_
        np.testing.assert_allclose(_on_strict(found), want, rtol=1e-9, atol=1e-12, err_msg=name_)


# issue 13's shapes, constructions and gathers, whose lowerings lean on the namespace most (roll's shift per
# axis, tile's tuple, take_along_axis' broadcasting, the masks of the diagonal and gather adjoints)
SHAPE_OPS = {"swapaxes", "moveaxis", "roll", "repeat", "repeat_sum", "tile", "tile_sum", "reshape", "ravel",
             "split_axes", "merge_axes", "full", "identity", "literal", "zeros_like", "ones_like", "full_like", "tril",
             "triu", "lower_half", "diagonal", "undiagonal", "diag", "pick", "pick_put", "take_along_axis",
             "take_along_axis_add"}
# and the linear algebra, contractions and indexing, whose lowerings spell what the standard lacks (einsum, kron,
# negative steps, which torch slices without) or lean on its linalg extension
SHAPE_OPS |= {"inv", "solve", "det", "logabsdet", "slogdet_sign", "logdet", "cholesky", "einsum", "dot", "inner",
              "tensordot", "kron", "index", "scatter", "matmul", "outer", "trace"}


@pytest.mark.parametrize("library", ["torch", "jax"])
@pytest.mark.parametrize("name, shapes, attrs", [case for case in cases() if case.values[0] in SHAPE_OPS])
def test_shape_op_graph_on_torch_and_under_jax_jit_matches_the_interpreter(name, shapes, attrs, library, rng):
    """The op-table graphs of SHAPE_OPS on PyTorch tensors and under jax.jit (where array-api-strict, being
    NumPy inside, takes what the standard does not: roll(x, (1, 1), axis=1) ran there and failed on torch)."""
    graph, out = build(name, shapes, attrs)
    integer = [f"a{i}" for i, domain in enumerate(domains(name)[:len(shapes)]) if domain.integer]
    wrt = () if name in ONCE else tuple(n for n in graph.inputs if n not in integer)
    stages = pipeline.run_graph(graph, wrt, "test", backend="array-api")
    module = load_module(stages.source)
    arrays = draw(name, shapes, rng)
    arrays["W"] = rng.standard_normal(out.shape)
    values = evaluate(stages.final, arrays)
    if library == "torch":
        torch = pytest.importorskip("torch")
        function, convert = module.value_and_grad, torch.asarray
    else:
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        function, convert = jax.jit(module.value_and_grad), jax.numpy.asarray
    got_value, got = function(**{k: convert(np.asarray(v)) for k, v in arrays.items()})
    for name_, node, found in zip(("value",) + wrt, stages.final.outputs, [got_value] + [got[n] for n in wrt]):
        assert np.asarray(found).shape == np.shape(values[node]), name_
        np.testing.assert_allclose(np.asarray(found), values[node], rtol=1e-9, atol=1e-12, err_msg=name_)


def _declared(sized, shapes, out_shape, integer=()):
    """The shapes to compile with; the index operands (`integer`) are integer inputs (gradc.Int)."""
    declared = {f"a{i}": sized(s) for i, s in enumerate(shapes)}
    declared.update({name: Int(*declared[name]) for name in integer})
    declared["W"] = sized(out_shape)
    return {name: shape for name, shape in declared.items() if shape}


@pytest.mark.parametrize("weighted", [True, False], ids=["weighted", "summed"])
@pytest.mark.parametrize("name, shapes, attrs", list(public_cases()))
def test_op_source_on_strict_matches_the_numpy_module(name, shapes, attrs, weighted, rng):
    """Every public op as the source texts test_ops compiles (weighted, and summed whole, where the adjoint
    reaching the op is a scalar), with named dimensions."""
    _, out = build(name, shapes, attrs)
    source = source_for(name, attrs, len(shapes), weighted)
    integer = [f"a{i}" for i, domain in enumerate(domains(name)[:len(shapes)]) if domain.integer]
    if any(not shapes[int(k[1:])] for k in integer):
        pytest.skip("a scalar index: gradc's integer inputs are arrays")
    try:  # named dimensions where gradc can name every length, else (n + m, n - 1) the sizes themselves
        declared = _declared(named, shapes, out.shape, integer)
        numpy_module = load_module(pipeline.run(source, shapes=declared).source)
    except ShapeError:
        declared = _declared(tuple, shapes, out.shape, integer)
        numpy_module = load_module(pipeline.run(source, shapes=declared).source)
    module = load_module(_emitted(name, lambda: pipeline.run(source, shapes=declared, backend="array-api")).source)
    arrays = draw(name, shapes, rng)
    if weighted:
        arrays["W"] = rng.standard_normal(out.shape) if out.shape else float(rng.standard_normal())
    _compare(numpy_module, module, arrays)


# the gathers as losses write them, with repeated labels: the mean's adjoint (a Python number) broadcast to the
# rows, then scattered back by a one-hot mask (pick) or sum (take_along_axis)
LOSSES = [
    "-mean(log_softmax(Z, axis=1)[arange(n), labels])",
    "-sum(log(softmax(X @ W, axis=1))[arange(n), labels]) / n",
    "-mean(take_along_axis(log_softmax(Z, axis=1), labels[:, None], axis=1))",
]


@pytest.mark.parametrize("source", LOSSES)
def test_cross_entropies_on_strict_match_the_numpy_module(source, rng):
    shapes = {"Z": ("n", "c"), "X": ("n", "d"), "W": ("d", "c"), "labels": Int("n")}
    numpy_module = load_module(pipeline.run(source, shapes=shapes).source)
    module = load_module(pipeline.run(source, shapes=shapes, backend="array-api").source)
    sizes = {"n": 6, "c": 4, "d": 3}
    arrays = {name: rng.standard_normal(tuple(sizes[d] for d in shapes[name])) for name in numpy_module.INPUTS}
    arrays["labels"] = np.array([0, 3, 3, 1, 0, 3])
    _compare(numpy_module, module, arrays)


# NumPy's meanings the parser spells with other ops: outer of non-vectors flattened first, repeat with a count
# per element a constant gather
SPELLED = [
    ("sum(W * outer(A, x))", {"A": (2, 3), "x": (3,), "W": (6, 3)}),
    ("sum(W * outer(s, B))", {"s": (), "B": (2, 3), "W": (1, 6)}),
    ("sum(outer(A, B) ** 2)", {"A": ("n", "d"), "B": ("d", "n")}),
    ("sum(W * repeat(A, [2, 0, 1], axis=1))", {"A": ("n", 3), "W": ("n", 3)}),
    ("sum(W * repeat(A, [1, 0, 2, 1, 1, 0]))", {"A": (2, 3), "W": (5,)}),
]


@pytest.mark.parametrize("source, shapes", SPELLED)
def test_spelled_meanings_on_strict_match_the_numpy_module(source, shapes, rng):
    numpy_module = load_module(pipeline.run(source, shapes=shapes).source)
    module = load_module(pipeline.run(source, shapes=shapes, backend="array-api").source)
    sizes = {"n": 2, "d": 3}
    arrays = {name: rng.standard_normal(tuple(sizes.get(d, d) for d in shapes[name])) for name in numpy_module.INPUTS}
    _compare(numpy_module, module, arrays)


def _run(source, shapes, **arrays):
    """The forward value of `source` on strict arrays, as NumPy."""
    module = load_module(pipeline.run(source, shapes=shapes, backend="array-api").source)
    return _on_strict(module.forward(**{k: strict.asarray(np.asarray(v, dtype=float)) for k, v in arrays.items()}))


# NumPy's documentation examples (numpy.org/doc/stable/reference/generated/numpy.<name>.html)
def test_cbrt_as_numpy_documents():
    np.testing.assert_allclose(_run("cbrt(x)", {"x": ("n",)}, x=[1, 8, 27]), [1.0, 2.0, 3.0], rtol=1e-15)


def test_logaddexp2_as_numpy_documents():
    prob1, prob2 = np.log2(1e-50), np.log2(2.5e-50)
    got = _run("logaddexp2(a, b)", {"a": ("n",), "b": ("n",)}, a=[prob1], b=[prob2])
    np.testing.assert_allclose(got, [-164.28904982231052], rtol=1e-14)
    np.testing.assert_allclose(2 ** got, [3.5e-50], rtol=1e-12)


def test_erf_against_math_erf():
    x = np.linspace(-7.0, 7.0, 57)
    np.testing.assert_allclose(_run("erf(x)", {"x": ("n",)}, x=x), [math.erf(v) for v in x], rtol=0, atol=4e-15)


def test_cumsum_and_cumprod_as_numpy_documents():
    a = [[1, 2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(_run("cumsum(a, axis=0)", {"a": (2, 3)}, a=a), [[1, 2, 3], [5, 7, 9]])
    np.testing.assert_array_equal(_run("cumsum(a, axis=1)", {"a": (2, 3)}, a=a), [[1, 3, 6], [4, 9, 15]])
    np.testing.assert_array_equal(_run("cumprod(a, axis=1)", {"a": (2, 3)}, a=a), [[1, 2, 6], [4, 20, 120]])


def test_norm_as_numpy_documents():
    a = np.arange(9) - 4.0
    b = a.reshape((3, 3))
    assert math.isclose(_run("norm(a)", {"a": (9,)}, a=a), 7.745966692414834, rel_tol=1e-15)
    assert math.isclose(_run("norm(b, 'fro')", {"b": (3, 3)}, b=b), 7.745966692414834, rel_tol=1e-15)
    assert math.isclose(_run("norm(b, np.inf)", {"b": (3, 3)}, b=b), 9.0, rel_tol=1e-15)
    assert math.isclose(_run("norm(b, 1)", {"b": (3, 3)}, b=b), 7.0, rel_tol=1e-15)
    assert math.isclose(_run("norm(b, 2)", {"b": (3, 3)}, b=b), 7.348469228349534, rel_tol=1e-14)
    assert math.isclose(_run("norm(b, -2)", {"b": (3, 3)}, b=b), 0.0, abs_tol=1e-14)
    c = np.array([[1, 2, 3], [-1, 1, 4]])
    np.testing.assert_allclose(_run("norm(c, axis=0)", {"c": (2, 3)}, c=c), [1.41421356, 2.23606798, 5.0],
                               rtol=1e-8)
    np.testing.assert_allclose(_run("norm(c, ord=1, axis=1)", {"c": (2, 3)}, c=c), [6.0, 6.0], rtol=1e-15)


def test_var_std_prod_clip_where_as_numpy_documents():
    a = [[1, 2], [3, 4]]
    assert _run("var(a)", {"a": (2, 2)}, a=a) == 1.25
    np.testing.assert_allclose(_run("std(a, axis=0)", {"a": (2, 2)}, a=a), [1.0, 1.0])
    assert _run("prod(a)", {"a": (2, 2)}, a=a) == 24.0
    np.testing.assert_array_equal(_run("clip(a, 1, 8)", {"a": (10,)}, a=np.arange(10)),
                                  [1, 1, 2, 3, 4, 5, 6, 7, 8, 8])
    np.testing.assert_array_equal(_run("where(a < 5, a, 10 * a)", {"a": (10,)}, a=np.arange(10)),
                                  [0, 1, 2, 3, 4, 50, 60, 70, 80, 90])
    np.testing.assert_array_equal(_run("round(a)", {"a": (5,)}, a=[0.5, 1.5, 2.5, 3.5, -0.5]),
                                  [0.0, 2.0, 2.0, 4.0, -0.0])


def test_every_op_of_the_table_is_reached():
    """The two tests above draw their cases from test_ops' tables: every non-leaf op of REGISTRY is among them."""
    reached = {param.values[0] for param in cases()}
    assert reached == {name for name, op in REGISTRY.items() if not op.leaf}
