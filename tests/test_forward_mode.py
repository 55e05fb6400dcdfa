"""Forward mode: every op's JVP rule against central differences, and the compiled jvp."""
import dataclasses

import numpy as np
import pytest

import gradc
from gradc.errors import DifferentiationError
from gradc.backend.interpret import evaluate
from gradc.transform.forward_mode import forward_mode
from gradc.ops import REGISTRY
from gradc.frontend.parse import parse
from test_ops import LEAVES, MASKS, ONCE, build, cases, domains, draw

RTOL, ATOL = 1e-6, 1e-7


def test_every_op_but_the_leaves_has_a_jvp_rule():
    assert {name for name, op in REGISTRY.items() if op.jvp is None} == set(LEAVES)


def _shift(arrays, directions, eps):
    return {n: (float(x + eps * directions[n]) if np.ndim(x) == 0 else x + eps * directions[n])
            for n, x in arrays.items()}


@pytest.mark.parametrize("name, shapes, attrs", list(cases()))
def test_jvp_matches_central_differences(name, shapes, attrs, rng):
    graph, out = build(name, shapes, attrs)
    names = [f"a{i}" for i, d in zip(range(len(shapes)), domains(name)) if not d.integer]  # indices stay
    moving = {n: graph.input(f"d_{n}", graph.shape(graph.inputs[n])) for n in names}
    if name in ONCE:
        with pytest.raises(DifferentiationError, match=r"differentiated once"):
            forward_mode(graph, moving, roots=[out.node])
        return
    tangent, = forward_mode(graph, moving, roots=[out.node])
    graph.outputs = [out.node, tangent]
    arrays = draw(name, shapes, rng)
    arrays["W"] = rng.standard_normal(out.shape)
    directions = {n: rng.standard_normal(np.shape(arrays[n])) for n in names}
    fixed = {**arrays, **{f"d_{n}": d for n, d in directions.items()}}
    result = evaluate(graph, fixed)[tangent]
    assert np.shape(result) == out.shape
    if name in MASKS:
        assert graph[tangent]["op"] == "zeros"
        return
    eps = 1e-6 * max(1.0, max(float(np.max(np.abs(arrays[n]))) for n in names))
    moved = {n: arrays[n] for n in names}
    plus = evaluate(graph, {**fixed, **_shift(moved, directions, eps)})[out.node]
    minus = evaluate(graph, {**fixed, **_shift(moved, directions, -eps)})[out.node]
    np.testing.assert_allclose(result, (np.asarray(plus) - np.asarray(minus)) / (2 * eps), rtol=RTOL, atol=ATOL)


def test_a_missing_rule_names_the_op_and_the_transformation(monkeypatch):
    graph = parse("exp(x)")
    monkeypatch.setitem(REGISTRY, "exp", dataclasses.replace(REGISTRY["exp"], jvp=None))
    with pytest.raises(DifferentiationError, match="operation 'exp' has no jvp rule"):
        forward_mode(graph, {"x": graph.const(1.0)})


def test_an_input_that_does_not_move_gives_a_zero_tangent():
    graph = parse("x * y")
    tangent, = forward_mode(graph, {})
    assert graph[tangent]["op"] == "zeros"


CASES = [
    ("(x + y) * z", {}),
    ("x / (x + y)", {}),
    ("0.5*sum((X@w - y)**2)", {"X": (4, 3), "y": (4,), "w": (3,)}),
    ("softmax(z)", {"z": (5,)}),
    ("tanh(W @ x) * s", {"W": (2, 3), "x": (3,)}),
    ("logsumexp(A, axis=0) + max(A[1], 0.0)", {"A": (2, 3)}),
]


def _point(fn, rng):
    graph = fn.stages.parsed
    return {name: rng.standard_normal(graph.shape(node)) if graph.shape(node) else float(rng.standard_normal())
            for name, node in graph.inputs.items()}


@pytest.mark.parametrize("source, shapes", CASES)
def test_compiled_jvp_is_the_directional_derivative(source, shapes, rng):
    fn = gradc.compile(source, shapes=shapes)
    point = _point(fn, rng)
    tangents = _point(fn, rng)
    value, derivative = fn.jvp(tangents, **point)
    np.testing.assert_allclose(value, fn.forward(**point), rtol=1e-13)
    eps = 1e-6
    slope = (np.asarray(fn.forward(**_shift(point, tangents, eps)))
             - np.asarray(fn.forward(**_shift(point, tangents, -eps)))) / (2 * eps)
    np.testing.assert_allclose(derivative, slope, rtol=RTOL, atol=ATOL)
    assert np.shape(derivative) == np.shape(value)


def test_jvp_leaves_unnamed_inputs_fixed(rng):
    fn = gradc.compile("x * y + y")
    assert fn.jvp({"x": 1.0}, x=2.0, y=3.0) == (9.0, 3.0)
    with pytest.raises(gradc.GradcError, match="tangent for z"):
        fn.jvp({"z": 1.0}, x=2.0, y=3.0)


def test_jvp_of_the_lecture_circuit():
    fn = gradc.compile("(x + y) * z")
    assert fn.jvp({"x": 1.0, "y": 0.0, "z": 0.0}, x=-2.0, y=5.0, z=-4.0) == (-12.0, -4.0)
    assert fn.jvp({"x": 0.0, "y": 0.0, "z": 1.0}, x=-2.0, y=5.0, z=-4.0) == (-12.0, 3.0)
