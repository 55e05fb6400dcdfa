"""Random expression trees (hypothesis): gradients agree with central differences, simplification keeps
values, and compiling twice gives the same bytes.

hypothesis is a dev dependency because it shrinks a failing expression to a small one, which a seeded
random generator would not.
"""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from gradc import pipeline
from gradc.backend.interpret import evaluate
from helpers import numeric_grad

SHAPES = {"u": ("n",), "v": ("n",)}
SCALARS = ("a", "b")
# Templates defined on the whole real line (no poles, no logs of negatives), so any composition is safe.
UNARY = ["sin({})", "cos({})", "tanh({})", "sigmoid({})", "exp(tanh({}))", "log(1 + ({})**2)", "sqrt(2 + sin({}))",
         "-({})", "({})**2", "np.tanh({})"]
BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (2 + sin({}))", "log(exp(tanh({})) + exp(tanh({})))",
          "maximum(({}) + 5, 4 - ({})**2)"]  # NOTE: a kink where the operands tie; random points miss it
REDUCE = ["sum({})", "mean({})", "logsumexp({})", "({})[0]", "({}) @ ({})", "sum(softmax({}) * ({}))"]


def binary(template, left, right):
    return template.format(left, right)


@st.composite
def expressions(draw, kind="scalar", depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if kind == "vector":
            return draw(st.sampled_from(["u", "v"]))
        return draw(st.sampled_from(list(SCALARS) + ["0.5", "2.0", "pi"]))
    if kind == "scalar":
        choice = draw(st.sampled_from(["unary", "binary", "reduce"]))
    else:
        choice = draw(st.sampled_from(["unary", "binary", "broadcast", "softmax"]))
    if choice == "unary":
        return draw(st.sampled_from(UNARY)).format(draw(expressions(kind, depth - 1)))
    if choice == "binary":
        return binary(draw(st.sampled_from(BINARY)), draw(expressions(kind, depth - 1)),
                      draw(expressions(kind, depth - 1)))
    if choice == "broadcast":  # a scalar meets a vector
        left, right = draw(expressions("scalar", depth - 1)), draw(expressions("vector", depth - 1))
        if draw(st.booleans()):
            left, right = right, left
        return binary(draw(st.sampled_from(BINARY)), left, right)
    if choice == "softmax":
        return f"softmax({draw(expressions('vector', depth - 1))})"
    template = draw(st.sampled_from(REDUCE))
    return template.format(*(draw(expressions("vector", depth - 1)) for _ in range(template.count("{}"))))


def point(stages, seed):
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1.5, 1.5, size=3) if stages.parsed.shape(node) else float(rng.uniform(-1.5, 1.5))
            for name, node in stages.parsed.inputs.items()}


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compile_stages(source):
    shapes = {name: dims for name, dims in SHAPES.items() if name in _names(source)}
    return pipeline.run(source, None, shapes)


def _names(source):
    import ast
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def load(stages):
    from gradc.api import load_module
    return load_module(stages.source)


@SETTINGS
@given(source=expressions(), seed=st.integers(0, 2**32 - 1))
def test_gradient_matches_central_differences(source, seed):
    stages = compile_stages(source)
    assume(stages.wrt)  # a constant has no gradient function
    module = load(stages)
    arrays = point(stages, seed)
    value, grads = module.value_and_grad(**arrays)
    assert np.isfinite(value)
    for name in stages.wrt:
        expected = numeric_grad(module.forward, arrays, name)
        np.testing.assert_allclose(grads[name], expected, rtol=1e-5, atol=1e-6, err_msg=f"{source}: d/d{name}")
        assert np.shape(grads[name]) == np.shape(arrays[name])


@SETTINGS
@given(source=expressions(), seed=st.integers(0, 2**32 - 1))
def test_simplify_keeps_values(source, seed):
    stages = compile_stages(source)
    arrays = point(stages, seed)
    written = evaluate(stages.parsed, arrays)[stages.parsed.outputs[0]]
    simplified = evaluate(stages.simplified, arrays)[stages.simplified.outputs[0]]
    final = evaluate(stages.final, arrays)[stages.final.outputs[0]]
    np.testing.assert_allclose(simplified, written, rtol=1e-12, atol=1e-12, err_msg=source)
    np.testing.assert_allclose(final, written, rtol=1e-12, atol=1e-12, err_msg=source)
    np.testing.assert_allclose(load(stages).forward(**arrays), written, rtol=1e-12, atol=1e-12, err_msg=source)


@settings(max_examples=25, deadline=None)
@given(source=expressions())
def test_compiling_twice_gives_the_same_bytes(source):
    assert compile_stages(source).source == compile_stages(source).source


# Matrices: the rules and emissions that only apply to them (products with a transposed operand, outer
# products scaling a matrix, sums along one axis, row maxima, vdot), under elementwise work of all kinds.
MATRIX_SHAPES = {"A": ("n", "k"), "B": ("n", "k"), "W": ("k", "k"), "u": ("n",), "v": ("k",)}
MATRIX_UNARY = UNARY + ["relu({})", "({}) @ W", "({}) * v", "({}) + v", "({}).T.T", "c * ({})", "({}) / (1 + c**2)",
                        "log_softmax({}, axis=1)", "softmax({}, axis=0)", "abs({})",
                        "({0}) - mean({0}, axis=0)", "({0}) * sum({0}, axis=0)"]
MATRIX_BINARY = BINARY[:4] + ["maximum({}, {})", "minimum({}, 2 * ({}))"]
MATRIX_LOSSES = ["sum({})", "mean({})", "sum(logsumexp({}, axis=1))", "sum(sum({}, axis=0) * v)",
                 "sum(({}).T @ ({}))", "sum(({}) * ({}))", "sum(tanh(({}) @ v) * u)", "sum(mean({}, axis=1) * u)",
                 "mean(logsumexp({}, axis=1) - sum(B * ({}), axis=1))", "sum((({}) @ v) ** 2)",
                 "sum(softmax({}, axis=1) * B)", "sum(({})[0] * v)",
                 "sum(tanh(c * ({})))", "u @ ({}) @ v"]


@st.composite
def trees(draw, leaves, unary, binary, depth=3):
    """An expression over `leaves` from elementwise and shape-keeping templates, `depth` deep at most."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves))
    if draw(st.booleans()):
        return draw(st.sampled_from(unary)).format(draw(trees(leaves, unary, binary, depth - 1)))
    return draw(st.sampled_from(binary)).format(draw(trees(leaves, unary, binary, depth - 1)),
                                                draw(trees(leaves, unary, binary, depth - 1)))


@st.composite
def losses(draw, templates, leaves, unary, binary):
    template = draw(st.sampled_from(templates))
    return template.format(*(draw(trees(leaves, unary, binary)) for _ in range(template.count("{}"))))


def check_values_and_gradients(source, declared, seed, sizes, tolerance):
    """The generated value and forward against the graph interpreter; each gradient against central differences."""
    shapes = {name: dims for name, dims in declared.items() if name in _names(source)}
    stages = pipeline.run(source, None, shapes)
    module = load(stages)
    rng = np.random.default_rng(seed)
    arrays = {name: rng.uniform(-1.5, 1.5, size=tuple(sizes[d] for d in stages.parsed.shape(node)))
              if stages.parsed.shape(node) else float(rng.uniform(-1.5, 1.5))
              for name, node in stages.parsed.inputs.items()}
    written = evaluate(stages.parsed, arrays)[stages.parsed.outputs[0]]
    value, grads = module.value_and_grad(**arrays)
    np.testing.assert_allclose(value, written, rtol=tolerance, atol=tolerance, err_msg=source)
    np.testing.assert_allclose(module.forward(**arrays), written, rtol=tolerance, atol=tolerance, err_msg=source)
    for name in stages.wrt:
        expected = numeric_grad(module.forward, arrays, name)
        np.testing.assert_allclose(grads[name], expected, rtol=1e-5, atol=1e-6, err_msg=f"{source}: d/d{name}")
        assert np.shape(grads[name]) == np.shape(arrays[name])


@SETTINGS
@given(source=losses(MATRIX_LOSSES, ["A", "B"], MATRIX_UNARY, MATRIX_BINARY), seed=st.integers(0, 2**32 - 1))
def test_matrix_gradients_and_values(source, seed):
    check_values_and_gradients(source, MATRIX_SHAPES, seed, {"n": 4, "k": 3}, tolerance=1e-12)


# Square matrices: transposes read and written in place, products of a matrix with its own transpose.
SQUARE_SHAPES = {"S": ("k", "k"), "T": ("k", "k")}
SQUARE_UNARY = UNARY + ["relu({})", "({}).T", "({0}) * ({0}).T", "({0}).T @ ({0})", "softmax({}, axis=0)"]
SQUARE_BINARY = BINARY[:4] + ["({}) @ ({})", "({}).T @ ({})", "maximum({}, ({}).T)"]
SQUARE_LOSSES = ["sum({})", "mean({})", "sum(logsumexp({}, axis=0))", "sum(({}) * ({}))", "sum(({})[1])"]


@SETTINGS
@given(source=losses(SQUARE_LOSSES, ["S", "T"], SQUARE_UNARY, SQUARE_BINARY), seed=st.integers(0, 2**32 - 1))
def test_square_matrix_gradients_and_values(source, seed):
    check_values_and_gradients(source, SQUARE_SHAPES, seed, {"k": 3}, tolerance=1e-11)
