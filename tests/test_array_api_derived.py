"""The array-api backend's jvp, vjp, jacobian, hvp and hessian: the NumPy module's values on numpy,
array-api-strict, torch and under jax.jit, and its errors for a direction of the wrong shape."""
import numpy as np
import pytest

import gradc
from gradc import pipeline
from gradc.backend.load import load_module

KINDS = ("jvp", "vjp", "jacobian", "hvp", "hessian")
SCALAR_OUTPUT = [
    ("sum(tanh(W @ x))", {"W": ("m", "n"), "x": ("n",)}),
    ("a * sum(x ** 3) + a ** 2 * b", {"x": ("n",)}),  # scalar blocks in closed form beside an array's loop
    ("0.5 * sum((X @ w - y) ** 2)", {"X": ("m", "n"), "w": ("n",), "y": ("m",)}),
    ("-sum(Y * log_softmax(X @ W, axis=1))", {"X": ("m", "n"), "W": ("n", "k"), "Y": ("m", "k")}),
]
ARRAY_OUTPUT = [
    ("tanh(W @ x)", {"W": ("m", "n"), "x": ("n",)}),
    ("softmax(z)", {"z": ("k",)}),
    ("X.T @ X * c", {"X": ("m", "n")}),  # a matrix output: the Jacobian's rows run over two axes
]
SIZES = {"m": 3, "n": 2, "k": 3}


def _modules(source, shapes, kinds):
    """The NumPy module and the array-api module, both with the functions of `kinds`."""
    return [load_module(gradc.compile(source, shapes=shapes, backend=backend).source_with(kinds))
            for backend in ("numpy", "array-api")]


def _draw(rng, shape):
    return rng.uniform(0.5, 1.5, shape) if shape else float(rng.uniform(0.5, 1.5))


def _calls(module, source, shapes, kinds):
    """Each kind's arguments: the inputs, after a tangent, cotangent or vector for each input differentiated."""
    rng = np.random.default_rng(0)
    graph = pipeline.parse_source(source, shapes)
    inputs = {name: _draw(rng, tuple(SIZES[d] for d in shapes.get(name, ()))) for name in graph.inputs}
    directions = {name: _draw(rng, np.shape(value)) for name, value in inputs.items()}
    output = np.shape(module.forward(**inputs))
    first = {"jvp": (directions,), "vjp": (_draw(rng, output),), "hvp": (directions,)}
    return {kind: (first.get(kind, ()), inputs) for kind in kinds}


def _leaves(result, prefix=""):
    """A nested result (tuples, dicts) as {path: array}."""
    if isinstance(result, dict):
        return {k: v for key in result for k, v in _leaves(result[key], f"{prefix}/{key}").items()}
    if isinstance(result, tuple):
        return {k: v for i, item in enumerate(result) for k, v in _leaves(item, f"{prefix}/{i}").items()}
    return {prefix: result}


def _convert(value, to):
    if isinstance(value, dict):
        return {k: _convert(v, to) for k, v in value.items()}
    return to(np.asarray(value)) if np.ndim(value) else value


def _compare(expected, got, back, namespace_of=None):
    expected, got = _leaves(expected), _leaves(got)
    assert expected.keys() == got.keys()
    for path, value in expected.items():
        if namespace_of is not None:
            assert namespace_of(got[path]), f"{path} is {type(got[path])}"
        np.testing.assert_allclose(back(got[path]), value, rtol=1e-9, atol=1e-12, err_msg=path)


def _check(source, shapes, kinds, to, back, wrap=lambda f: f, namespace_of=None):
    numpy_module, module = _modules(source, shapes, kinds)
    for kind, (first, inputs) in _calls(numpy_module, source, shapes, kinds).items():
        expected = getattr(numpy_module, kind)(*first, **inputs)
        got = wrap(getattr(module, kind))(*[_convert(f, to) for f in first], **_convert(inputs, to))
        _compare(expected, got, back, namespace_of)


CASES = [(s, sh, KINDS) for s, sh in SCALAR_OUTPUT] + [(s, sh, ("jvp", "vjp", "jacobian")) for s, sh in ARRAY_OUTPUT]
IDS = [source for source, _, _ in CASES]


@pytest.mark.parametrize("source, shapes, kinds", CASES, ids=IDS)
def test_numpy_arrays(source, shapes, kinds):
    _check(source, shapes, kinds, np.asarray, np.asarray)


@pytest.mark.parametrize("source, shapes, kinds", CASES, ids=IDS)
def test_array_api_strict(source, shapes, kinds):
    strict = pytest.importorskip("array_api_strict")
    _check(source, shapes, kinds, strict.asarray, lambda x: np.asarray(strict.asarray(x, copy=True)._array),
           namespace_of=lambda x: hasattr(x, "__array_namespace__") and x.__array_namespace__() is strict)


@pytest.mark.parametrize("source, shapes, kinds", CASES, ids=IDS)
def test_torch(source, shapes, kinds):
    torch = pytest.importorskip("torch")
    _check(source, shapes, kinds, torch.from_numpy, lambda x: x.numpy(), namespace_of=torch.is_tensor)


@pytest.mark.parametrize("source, shapes, kinds", CASES, ids=IDS)
def test_jax_jit(source, shapes, kinds):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    _check(source, shapes, kinds, jax.numpy.asarray, np.asarray, wrap=jax.jit,
           namespace_of=lambda x: isinstance(x, jax.Array))


@pytest.mark.parametrize("source, shapes, kinds", CASES[:1] + CASES[-3:-1], ids=IDS[:1] + IDS[-3:-1])
def test_dask_lazily(source, shapes, kinds):
    da = pytest.importorskip("dask.array")
    _check(source, shapes, kinds, da.from_array, lambda x: np.asarray(x.compute()),
           namespace_of=lambda x: isinstance(x, da.Array))


def test_float32_directions_and_results_stay_float32():
    torch = pytest.importorskip("torch")
    _, module = _modules(*SCALAR_OUTPUT[0], ("hvp", "hessian"))
    W, x = torch.ones((3, 2), dtype=torch.float32), torch.ones(2, dtype=torch.float32)
    products = module.hvp({"W": np.ones((3, 2)), "x": np.ones(2)}, W, x)
    blocks = _leaves(module.hessian(W, x))
    assert all(v.dtype == torch.float32 for v in [*products.values(), *blocks.values()])


def test_a_direction_of_another_shape_is_refused():
    strict = pytest.importorskip("array_api_strict")
    _, module = _modules(*SCALAR_OUTPUT[0], ("jvp", "vjp"))
    W, x = strict.ones((3, 2)), strict.ones(2)
    with pytest.raises(ValueError, match=r'tangents\["x"\] has shape \(3,\); expected \(2,\)'):
        module.jvp({"W": strict.ones((3, 2)), "x": strict.ones(3)}, W, x)
    with pytest.raises(ValueError, match=r"cotangent has shape \(2,\); expected \(\)"):
        module.vjp(strict.ones(2), W, x)


def test_the_cli_writes_them_for_the_array_api_backend(capsys):
    from gradc.cli.main import main
    assert main(["compile", "sum(tanh(W @ x))", "--shape", "W=m,n", "--shape", "x=n", "--backend", "array-api",
                 "--emit", "jvp,hessian"]) == 0
    text = capsys.readouterr().out
    assert "def jvp(tangents, W, x):" in text and "def hessian(W, x):" in text and "import numpy" not in text


@pytest.mark.parametrize("source, shapes, kinds", [CASES[0], CASES[len(SCALAR_OUTPUT)]], ids=IDS[:1] + IDS[len(SCALAR_OUTPUT):][:1])
def test_the_api_methods_keep_torch_tensors(source, shapes, kinds):
    torch = pytest.importorskip("torch")
    numpy_fn = gradc.compile(source, shapes=shapes)
    fn = gradc.compile(source, shapes=shapes, backend="array-api")
    for kind, (first, inputs) in _calls(numpy_fn.module, source, shapes, kinds).items():
        expected = getattr(numpy_fn, kind)(*first, **inputs)
        got = getattr(fn, kind)(*[_convert(f, torch.from_numpy) for f in first], **_convert(inputs, torch.from_numpy))
        _compare(expected, got, lambda x: x.numpy(), namespace_of=torch.is_tensor)
