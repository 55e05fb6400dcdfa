"""Vector outputs (vjp, jacobian), second derivatives (hvp, hessian), emitted functions, and Newton's method."""
import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc.optim.descent import minimize
from gradc.api import load_module

ROOT = Path(__file__).resolve().parent.parent


def fd_jacobian(f, point, name, eps=1e-6):
    """d f / d point[name] by central differences, shaped f's shape + the input's shape."""
    x = np.array(point[name], dtype=float)
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        hi = f(**{**point, name: x + step if x.shape else float(x + step)})
        lo = f(**{**point, name: x - step if x.shape else float(x - step)})
        columns.append((np.asarray(hi) - np.asarray(lo)) / (2 * eps))
    out_shape = np.shape(columns[0])
    return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)


VECTOR = ("tanh(W @ x) * s", {"W": ("m", "n"), "x": ("n",)})


def vector_point(rng):
    return {"W": rng.standard_normal((2, 3)), "x": rng.standard_normal(3), "s": 0.7}


def test_vjp_with_one_hot_cotangents_gives_the_jacobian_rows(rng):
    fn = gradc.compile(VECTOR[0], shapes=VECTOR[1])
    point = vector_point(rng)
    for name in fn.wrt:
        expected = fd_jacobian(fn.forward, point, name)
        for row in range(2):
            value, grads = fn.vjp(np.eye(2)[row], **point)
            np.testing.assert_allclose(value, fn.forward(**point))
            np.testing.assert_allclose(grads[name], expected[row], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("source, shapes, point", [
    ("tanh(W @ x) * s", {"W": (2, 3), "x": (3,)}, None),  # 2 outputs, 10 inputs: rows by vjp
    ("exp(A) * s", {"A": (3, 4)}, None),  # 12 outputs, 13 inputs
    ("s * x", {"x": (5,)}, {"s": 2.0, "x": np.arange(5.0)}),  # 5 outputs, 6 inputs
    ("A @ x", {"A": (4, 2), "x": (2,)}, None),  # 4 outputs, 10 inputs
    ("exp(x) * s", {"x": (9,)}, None),  # 9 outputs, 10 inputs
    ("w * 3.0", {"w": (7,)}, {"w": np.ones(7)}),  # 7 outputs, 7 inputs
    ("x * y", {"x": (3, 1), "y": (4,)}, None),  # 12 outputs, 7 inputs: by jvp
    ("sum(w) * w[0]", {"w": (3,)}, None),  # a scalar output
    ("w[0] * 3.0", {"w": (1,)}, None),
])
def test_jacobian_matches_finite_differences(source, shapes, point, rng):
    fn = gradc.compile(source, shapes=shapes)
    graph = fn.stages.parsed
    point = point or {n: rng.standard_normal(graph.shape(i)) if graph.shape(i) else float(rng.standard_normal())
                      for n, i in graph.inputs.items()}
    jacobian = fn.jacobian(**point)
    for name in fn.wrt:
        np.testing.assert_allclose(jacobian[name], fd_jacobian(fn.forward, point, name), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("source, shapes", [
    ("tanh(W @ x) * s", {"W": ("m", "n"), "x": ("n",)}),
    ("softmax(Z, axis=1) * s", {"Z": ("n", "k")}),  # an output with two axes: rows indexed by pairs
    ("A @ x + 0 * s", {"A": ("m", "n"), "x": ("n",)}),  # s does not move f: its block stays zeros
    ("sum(w) * w[0]", {"w": ("n",)}),  # a scalar output: its gradient, without a loop
])
@pytest.mark.parametrize("readable", [False, True])
def test_the_modules_jacobian_matches_finite_differences(source, shapes, readable, rng):
    fn = gradc.compile(source, shapes=shapes, readable=readable)
    text = fn.source_with(["jacobian"])
    assert text == fn.source_with(["jacobian"])  # deterministic
    jacobian = load_module(text).jacobian
    sizes = {"m": 2, "n": 3, "k": 4}
    graph = fn.stages.parsed
    point = {name: rng.standard_normal(tuple(sizes[d] for d in graph.shape(node))) if graph.shape(node)
             else float(rng.standard_normal()) for name, node in graph.inputs.items()}
    result = jacobian(**point)
    assert list(result) == list(fn.wrt)
    for name in fn.wrt:
        np.testing.assert_allclose(result[name], fd_jacobian(fn.forward, point, name), rtol=1e-6, atol=1e-8)
    if graph.shape(graph.outputs[0]):
        assert "for i in np.ndindex(" in text
    else:
        assert "np.ndindex" not in text and "cotangent" not in text


def test_the_jacobian_runs_the_forward_pass_once_before_its_rows():
    text = gradc.compile("tanh(W @ x)", shapes={"W": ("m", "n"), "x": ("n",)}).source_with(["jacobian"])
    body = text[text.index("def jacobian("):]
    computed = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
    tanh = [n for n, line in enumerate(computed) if "np.tanh(" in line]
    loop = next(n for n, line in enumerate(computed) if "np.ndindex" in line)
    assert len(tanh) == 1 and tanh[0] < loop  # and 1 - tanh**2, once, before the rows
    assert next(n for n, line in enumerate(computed) if "1.0 - " in line) < loop


def test_jacobian_by_columns_when_the_output_is_larger(rng):
    fn = gradc.compile("exp(A) * s", shapes={"A": (3, 4)})
    point = {"A": rng.standard_normal((3, 4)), "s": 0.5}
    jacobian = fn.jacobian(**point)
    assert jacobian["A"].shape == (3, 4, 3, 4) and jacobian["s"].shape == (3, 4)
    np.testing.assert_allclose(jacobian["s"], np.exp(point["A"]))


def test_softmax_jacobian_is_diag_p_minus_p_pt(rng):
    fn = gradc.compile("softmax(z)", shapes={"z": ("k",)})
    z = rng.standard_normal(4)
    p = fn.forward(z=z)
    np.testing.assert_allclose(fn.jacobian(z=z)["z"], np.diag(p) - np.outer(p, p), atol=1e-15)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(rng):
    fn = gradc.compile("x @ A @ x", wrt=["x"], shapes={"x": ("n",), "A": ("n", "n")})
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(fn.hessian(x=x, A=A)["x"]["x"], A + A.T, rtol=1e-14)


LOGISTIC = ("mean(-y * log(sigmoid(X @ w + b)) - (1 - y) * log(1 - sigmoid(X @ w + b)))",
            {"X": ("n", "d"), "y": ("n",), "w": ("d",)})


def logistic_point(rng):
    return {"X": rng.standard_normal((6, 3)), "y": (rng.random(6) < 0.5).astype(float),
            "w": rng.standard_normal(3), "b": 0.3}


def test_hessian_of_the_logistic_loss_matches_differences_of_the_gradient(rng):
    fn = gradc.compile(LOGISTIC[0], wrt=["w", "b"], shapes=LOGISTIC[1])
    point = logistic_point(rng)
    hessian = fn.hessian(**point)
    for a in fn.wrt:
        for b in fn.wrt:
            expected = fd_jacobian(lambda **p: fn.grad(**p)[a], point, b)
            assert np.shape(hessian[a][b]) == np.shape(point[a]) + np.shape(point[b])
            np.testing.assert_allclose(hessian[a][b], expected, rtol=1e-6, atol=1e-8)
    # the closed form: X^T diag(p(1-p)) X / n
    p = 1 / (1 + np.exp(-(point["X"] @ point["w"] + point["b"])))
    np.testing.assert_allclose(hessian["w"]["w"], point["X"].T @ np.diag(p * (1 - p)) @ point["X"] / 6, rtol=1e-12)


def test_hvp_equals_the_hessian_times_the_vector(rng):
    fn = gradc.compile("x @ A @ x * s + sum(tanh(A @ x)) + s ** 3", shapes={"x": ("n",), "A": ("n", "n")})
    point = {"x": rng.standard_normal(3), "A": rng.standard_normal((3, 3)), "s": 0.4}
    vectors = {"x": rng.standard_normal(3), "A": rng.standard_normal((3, 3)), "s": -1.3}
    hessian, product = fn.hessian(**point), fn.hvp(vectors, **point)
    for a in fn.wrt:
        expected = sum(np.tensordot(hessian[a][b], vectors[b], axes=np.ndim(vectors[b])) for b in fn.wrt)
        np.testing.assert_allclose(product[a], expected, rtol=1e-12, atol=1e-12)


def test_hessian_of_scalars_in_closed_form():
    fn = gradc.compile("x * x * y + sin(y)")
    hessian = fn.hessian(x=2.0, y=0.5)
    assert hessian == {"x": {"x": 1.0, "y": 4.0}, "y": {"x": 4.0, "y": -np.sin(0.5)}}
    assert "np.ndindex" not in fn.source_with(["hessian"])  # no loop over basis vectors for scalars


def test_returned_arrays_are_fresh_and_writable(rng):
    fn = gradc.compile("sum(x) * s + sum(x * x)", shapes={"x": (3,)})
    point = {"x": rng.standard_normal(3), "s": 2.0}
    results = [fn.hessian(**point)["x"]["s"], fn.hvp({"x": point["x"]}, **point)["x"],
               fn.jvp({"x": point["x"]}, **point)[1]]
    for result in results:
        np.asarray(result)[...] = 0.0 if np.ndim(result) else None
    assert np.all(point["x"] != 0.0)


def test_vector_output_compiles_without_a_gradient():
    fn = gradc.compile(VECTOR[0], shapes=VECTOR[1])
    assert "def value_and_grad" not in fn.source and "def forward" in fn.source
    with pytest.raises(gradc.GradcError, match="not a scalar"):
        fn.grad(W=np.ones((2, 3)), x=np.ones(3), s=1.0)
    with pytest.raises(gradc.DifferentiationError, match="scalar output"):
        fn.hessian(W=np.ones((2, 3)), x=np.ones(3), s=1.0)
    with pytest.raises(gradc.DifferentiationError):
        fn.source_with(["value_and_grad"])
    with pytest.raises(gradc.ShapeError, match="cotangent"):
        fn.vjp(np.ones(3), W=np.ones((2, 3)), x=np.ones(3), s=1.0)


def test_default_module_is_unchanged_and_emitted_functions_are_standalone(rng):
    fn = gradc.compile(LOGISTIC[0], wrt=["w", "b"], shapes=LOGISTIC[1])
    assert fn.source_with([]) == fn.source == fn.source_with(["value_and_grad"])
    text = fn.source_with(["hessian", "jvp", "vjp", "hvp"])
    assert "--emit jvp,vjp,hvp,hessian`" in text
    tree = ast.parse(text)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == [
        "_inputs", "_array", "_scalar", "_sigmoid", "_softplus", "_direction", "forward", "value_and_grad",
        "gradient", "jvp", "vjp", "hvp", "hessian"]
    assert {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} == {"numpy"}
    module = load_module(text)
    point = logistic_point(rng)
    directions = {"w": rng.standard_normal(3), "b": 0.5}
    np.testing.assert_allclose(module.jvp(directions, **point)[1], fn.jvp(directions, **point)[1])
    np.testing.assert_allclose(module.hvp(directions, **point)["w"], fn.hvp(directions, **point)["w"])
    np.testing.assert_allclose(module.vjp(1.0, **point)[1]["w"], fn.grad(**point)["w"])
    np.testing.assert_allclose(module.hessian(**point)["w"]["b"], fn.hessian(**point)["w"]["b"])


def test_generated_names_never_clash_with_inputs(rng):
    source = "sum(tangents * cotangent) + vectors * i + sum(d_tangents * v_tangents)"
    shapes = {"tangents": (2,), "cotangent": (2,), "d_tangents": (2,), "v_tangents": (2,)}
    fn = gradc.compile(source, shapes=shapes)
    point = {n: rng.standard_normal(2) for n in shapes} | {"vectors": 0.5, "i": 2.0}
    text = fn.source_with(["jvp", "vjp", "hvp", "hessian"])
    module = load_module(text)
    ones = {n: np.ones(np.shape(v)) if np.ndim(v) else 1.0 for n, v in point.items()}
    np.testing.assert_allclose(module.jvp(ones, **point)[1], fn.jvp(ones, **point)[1])
    np.testing.assert_allclose(module.hessian(**point)["vectors"]["i"], 1.0)
    np.testing.assert_allclose(module.hvp(ones, **point)["tangents"], fn.hvp(ones, **point)["tangents"])


def test_cli_emit_writes_the_functions():
    run = subprocess.run([sys.executable, "-m", "gradc", "compile", "x * x * y", "--emit", "jvp,hessian"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "def jvp(tangents, x, y):" in run.stdout and "def hessian(x, y):" in run.stdout
    assert "def hvp" not in run.stdout
    bad = subprocess.run([sys.executable, "-m", "gradc", "compile", "x", "--emit", "jvp,curl"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.startswith("gradc: error: cannot emit curl")


def test_newton_solves_a_quadratic_in_one_step(rng):
    M = rng.standard_normal((4, 4))
    A, c = M @ M.T + np.eye(4), rng.standard_normal(4)
    fn = gradc.compile("0.5 * x @ A @ x - c @ x", wrt=["x"], shapes={"x": ("n",), "A": ("n", "n"), "c": ("n",)})
    result = minimize(fn, {"x": np.zeros(4)}, {"A": A, "c": c}, method="newton", gtol=1e-9, max_iter=10)
    assert result.n_iter == 1 and result.status == "gtol"
    np.testing.assert_allclose(result.params["x"], np.linalg.solve(A, c), rtol=1e-10)


def test_newton_turns_away_from_a_maximum():
    # Near 0 the Hessian is negative definite: plain Newton would step to the maximum at 0.
    fn = gradc.compile("sum(x ** 4) - sum(x ** 2)", shapes={"x": (2,)})
    result = minimize(fn, {"x": np.array([0.3, -0.2])}, method="newton", gtol=1e-10, max_iter=100)
    assert result.status == "gtol" and result.loss_history[-1] < result.loss_history[0]
    np.testing.assert_allclose(np.abs(result.params["x"]), np.sqrt(0.5), rtol=1e-8)


def test_newton_fits_logistic_regression_with_scalar_and_array_params(rng):
    fn = gradc.compile(LOGISTIC[0] + " + 0.01 * (w @ w + b * b)", wrt=["w", "b"], shapes=LOGISTIC[1])
    point = logistic_point(rng)
    data = {"X": point["X"], "y": point["y"]}
    result = minimize(fn, {"w": np.zeros(3), "b": 0.0}, data, method="newton", gtol=1e-10, max_iter=30)
    assert result.status == "gtol" and result.n_iter < 15
    assert isinstance(result.params["b"], float)


def test_newton_needs_a_hessian():
    class Parabola:
        def value_and_grad(self, x):
            return (x - 3.0) ** 2, {"x": 2.0 * (x - 3.0)}
    with pytest.raises(gradc.GradcError, match="hessian"):
        minimize(Parabola(), {"x": 0.0}, method="newton")
