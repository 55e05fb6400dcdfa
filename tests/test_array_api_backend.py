"""The array-api backend: one module, the NumPy module's values on numpy, array-api-strict, torch and jax."""
import re
import shlex
from dataclasses import replace

import numpy as np
import pytest

import gradc
from gradc import pipeline
from gradc.backend.array_api.lowerings import lowering_of
from gradc.backend.load import load_module
from gradc.errors import GradcError
from gradc.ops import REGISTRY
from gradc.shapes import Int

CASES = [
    ("sum((X @ w - y) ** 2)", {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("mean(log(1 + exp(-y * (X @ w))))", {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("sum(tanh(X @ W1) @ w2)", {"X": ("n", "d"), "W1": ("d", "h"), "w2": ("h",)}),
    ("(x + y) * z", {}),
    ("x / (x + y)", {}),
    # found by the fuzzer's array-api check: a scalar adjoint scattered into a slice (a mean's, through x[::-1]),
    # and values that fold to Python numbers (a - a) read by the standard's functions
    ("mean(x[::-1])", {"x": ("n",)}),
    ("sum(((u + mean(u[::-1])) - mean(u[::-1]))[1:] * ((u + mean(u[::-1])) - mean(u[::-1]))[:-1])", {"u": ("n",)}),
    ("sum(x[None, 1:]) * mean(x)", {"x": ("n",)}),
    ("sigmoid(a - a) + sum(x)", {"x": ("n",)}),
    ("sin((a - a) * sum(x))", {"x": ("n",)}),
]
SIZES = {"n": 5, "d": 3, "h": 4, "b": 2}


def _modules(source, shapes):
    numpy_module = load_module(pipeline.run(source, shapes=shapes).source)
    text = pipeline.run(source, shapes=shapes, backend="array-api").source
    return numpy_module, load_module(text), text


def _inputs(source, shapes):
    """Floats in [0.5, 1.5]; an integer input (gradc.Int) holds indices below 3, the smallest size of SIZES,
    drawn with repeats."""
    rng = np.random.default_rng(0)
    graph = pipeline.parse_source(source, shapes)
    drawn = {}
    for name in graph.inputs:
        dims = tuple(SIZES.get(d, d) for d in shapes.get(name, ()))
        if isinstance(shapes.get(name), Int):
            drawn[name] = rng.integers(0, min(SIZES.values()), dims)
        else:
            drawn[name] = rng.uniform(0.5, 1.5, dims) if dims else float(rng.uniform(0.5, 1.5))
    return drawn


def _check(source, shapes, convert, back, wrap=lambda f: f):
    numpy_module, module, _ = _modules(source, shapes)
    inputs = _inputs(source, shapes)
    value, grads = numpy_module.value_and_grad(**inputs)
    got_value, got = wrap(module.value_and_grad)(**{k: convert(v) if shapes.get(k) else v for k, v in inputs.items()})
    np.testing.assert_allclose(back(got_value), value, rtol=1e-9)
    for name in grads:
        np.testing.assert_allclose(back(got[name]), grads[name], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("source, shapes", CASES)
def test_numpy_and_strict_match_the_numpy_module(source, shapes):
    strict = pytest.importorskip("array_api_strict")
    _check(source, shapes, np.asarray, np.asarray)
    _check(source, shapes, strict.asarray, lambda x: np.asarray(x) if not hasattr(x, "__array_namespace__")
           else np.asarray(strict.asarray(x, copy=True)._array))


@pytest.mark.parametrize("source, shapes", CASES)
def test_torch_matches_the_numpy_module(source, shapes):
    torch = pytest.importorskip("torch")
    _check(source, shapes, torch.from_numpy, lambda x: x.numpy() if hasattr(x, "numpy") else x)


@pytest.mark.parametrize("source, shapes", CASES[:3])
def test_jax_jit_matches_the_numpy_module(source, shapes):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    numpy_module, module, _ = _modules(source, shapes)
    inputs = _inputs(source, shapes)
    value, grads = numpy_module.value_and_grad(**inputs)
    got_value, got = jax.jit(module.value_and_grad)(**{k: jax.numpy.asarray(v) for k, v in inputs.items()})
    np.testing.assert_allclose(np.asarray(got_value), value, rtol=1e-9)
    for name in grads:
        np.testing.assert_allclose(np.asarray(got[name]), grads[name], rtol=1e-9, atol=1e-12)


def test_float32_stays_float32():
    torch = pytest.importorskip("torch")
    _, module, _ = _modules(*CASES[0])
    inputs = {k: torch.from_numpy(v.astype(np.float32)) for k, v in _inputs(*CASES[0]).items()}
    value, grads = module.value_and_grad(**inputs)
    assert value.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads.values())


def test_mixed_namespaces_name_the_inputs():
    torch = pytest.importorskip("torch")
    _, module, _ = _modules(*CASES[0])
    inputs = _inputs(*CASES[0])
    inputs["X"] = torch.from_numpy(inputs["X"])
    with pytest.raises(TypeError, match=r"\(X, w, y\) must be arrays of one namespace"):
        module.value_and_grad(**inputs)


def test_mixed_namespaces_through_the_api_are_a_gradc_error_naming_the_inputs():
    strict = pytest.importorskip("array_api_strict")
    fn = gradc.compile("sum((X @ w - y) ** 2)", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)},
                       backend="array-api")
    with pytest.raises(gradc.GradcError, match=r"\(X, w, y\) must be arrays of one namespace"):
        fn.value_and_grad(X=strict.ones((3, 2)), w=np.ones(2), y=strict.zeros(3))


def test_module_imports_only_array_api_compat():
    import ast
    _, _, text = _modules(*CASES[0])
    imported = {alias.name for node in ast.walk(ast.parse(text)) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in getattr(node, "names", [])}
    assert imported == {"array_api_compat"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_has_a_lowering_or_a_clear_error(name):
    op = REGISTRY[name]
    try:
        lowering = lowering_of(op)
    except GradcError as error:
        assert name in str(error) and "array-api" in str(error)
    else:
        assert isinstance(lowering.text, str) or callable(lowering.text)


@pytest.mark.parametrize("op", [replace(REGISTRY["tril"], name="tril_unlowered"),
                                replace(REGISTRY["exp"], name="spacing", impl=np.spacing)],
                         ids=["no lowering", "a ufunc the standard lacks"])
def test_an_op_without_a_lowering_is_refused_by_name(op):
    """The error the test above accepts, met whatever the registry holds: an op copied under a new name, and
    an elementwise ufunc the standard has no function for, are refused naming the op, the backend and the
    way out."""
    with pytest.raises(GradcError, match=rf"operation '{op.name}' has no lowering for the array-api backend: "
                                         r"compile with backend='numpy'"):
        lowering_of(op)


def test_unknown_backend_is_refused():
    with pytest.raises(GradcError, match="unknown backend 'cuda'"):
        pipeline.run("x * 2", backend="cuda")


@pytest.mark.parametrize("function", ["exp2", "relu6", "hard_tanh", "softsign", "logit", "silu", "log_sigmoid",
                                      "relu", "sigmoid", "softplus", "abs", "sqrt"])
def test_activations_match_on_strict(function):
    strict = pytest.importorskip("array_api_strict")
    source = f"sum({function}(x * 0.4) * c)"
    numpy_module, module, _ = _modules(source, {"x": ("n",), "c": ("n",)})
    x, c = np.linspace(0.1, 2.4, 5), np.linspace(-1.0, 1.0, 5)
    value, grads = numpy_module.value_and_grad(x=x, c=c)
    got_value, got = module.value_and_grad(x=strict.asarray(x), c=strict.asarray(c))
    np.testing.assert_allclose(float(got_value), value, rtol=1e-9)
    for name in grads:
        np.testing.assert_allclose(np.asarray(got[name]._array), grads[name], rtol=1e-9, atol=1e-12)


def _unary_elementwise():
    """Every elementwise unary op the source can call by name and this backend lowers."""
    found = []
    for name, op in REGISTRY.items():
        if not (op.elementwise and op.arity == 1 and op.names and op.differentiable and op.domain):
            continue
        try:
            lowering_of(op)
        except GradcError:
            continue
        found.append(name)
    return found


@pytest.mark.parametrize("name", _unary_elementwise())
def test_op_table_on_strict(name):
    """The op table's unary elementwise ops: value and gradient on array-api-strict = the NumPy module's."""
    strict = pytest.importorskip("array_api_strict")
    op = REGISTRY[name]
    source = f"sum({op.names[0]}(x) * c)"
    numpy_module, module, _ = _modules(source, {"x": ("n",), "c": ("n",)})
    rng = np.random.default_rng(1)
    x, c = op.domain[0].sample(rng, (6,)), rng.uniform(-1.0, 1.0, 6)
    value, grads = numpy_module.value_and_grad(x=x, c=c)
    got_value, got = module.value_and_grad(x=strict.asarray(x), c=strict.asarray(c))
    np.testing.assert_allclose(float(got_value), value, rtol=1e-9)
    for key in grads:
        np.testing.assert_allclose(np.asarray(got[key]._array), grads[key], rtol=1e-9, atol=1e-12)


# issue 12's vocabulary through the helpers and spellings that differ by namespace (scatter, erf, cumulative
# sums, the SVD, masks read as bools)
VOCABULARY = [
    ("sum(cumsum(X, axis=0) * C) + sum(cumprod(w) * w)", {"X": ("n", "d"), "C": ("n", "d"), "w": ("d",)}),
    ("sum(gelu(X, approximate=False) * C) + sum(erf(w))", {"X": ("n", "d"), "C": ("n", "d"), "w": ("d",)}),
    ("sum(where(X > 1.0, X, -X) * C) + prod(w) + var(X) + std(X, axis=0) @ w",
     {"X": ("n", "d"), "C": ("n", "d"), "w": ("d",)}),
    ("norm(X, 2) + norm(X, 'nuc') + norm(w, 1) + trace(X.T @ X)", {"X": ("n", "d"), "w": ("d",)}),
    ("sum(X[0] * w) + sum(X[:, 1:] ** 2) + sum(flip(X, axis=1) * C)", {"X": ("n", 3), "C": ("n", 3), "w": (3,)}),
    ("sum(elu(X, alpha=0.5) * C) + sum(leaky_relu(w)) + sum(clip(w, 0.7, 1.2))",
     {"X": ("n", "d"), "C": ("n", "d"), "w": ("d",)}),
]
# issue 13's shapes, constructions and gathers: permutations, copies and their sums, masks for diagonals,
# one-hot sums for the gathers' adjoints (repeated labels add up)
SHAPE_VOCABULARY = [
    ("sum(swapaxes(A, 0, 2) * B) + sum(roll(A, 1, axis=1) * A) + sum(moveaxis(A, 0, -1) * A2) + sum(ravel(A) ** 3)",
     {"A": (2, "d", "h"), "B": ("h", "d", 2), "A2": ("d", "h", 2)}),
    ("sum(repeat(w, 2) * u) + sum(repeat(X, 3, axis=0) ** 2) + sum(tile(w, (2, 1)) * T) + sum(reshape(X, (3, n)) * Y)",
     {"w": (3,), "u": (6,), "X": ("n", 3), "T": (2, 3), "Y": (3, "n")}),
    ("sum(diag(w) * S) + sum(tril(S, -1) ** 2) + sum(triu(S, 1) * C) + sum(diagonal(S, 1) ** 2) + diag(S) @ w",
     {"S": ("d", "d"), "C": ("d", "d"), "w": ("d",)}),
    ("sum(full((n, d), 0.5) * X) + sum(full_like(X, 2.0) * X) + sum(ones_like(w) * w) + sum(zeros_like(X) + X)"
     " + np.array([1.0, -2.0, 0.5]) @ v + sum(identity(d) * outer(w, w))", {"X": ("n", "d"), "w": ("d",), "v": (3,)}),
    ("-mean(log_softmax(Z, axis=1)[arange(n), labels]) + sum(take_along_axis(Z, L, axis=1) ** 2)",
     {"Z": ("n", "d"), "labels": Int("n"), "L": Int("n", 2)}),
    ("sum(take_along_axis(x, L, axis=1) * W) + sum(take(Z, labels, axis=0) ** 2)",
     {"x": (1, "d"), "L": Int("n", 2), "W": ("n", 2), "Z": ("d", "h"), "labels": Int("n")}),
]


# issue 13's linear algebra and contractions: the standard's linalg extension, and einsum, dot, inner, kron
# written with its matmul, tensordot, diagonal and reshapes (the matrices made well conditioned in the source)
LINALG_VOCABULARY = [
    ("Q = S @ S.T + 3.0 * eye(d); r = x - mu; 0.5*slogdet(Q)[1] + 0.5*(r @ solve(Q, r))",
     {"S": ("d", "d"), "x": ("d",), "mu": ("d",)}),
    ("Q = S @ S.T + 3.0 * eye(d); log(det(Q)) + sum(inv(Q) * C) + sum(cholesky(Q) * C) + det(Q) * slogdet(Q)[0]"
     " + sum(solve(Q, C) ** 2)", {"S": ("d", "d"), "C": ("d", "d")}),
    ("sum(einsum('bij,bjk->bik', T, U) * V) + sum(einsum('bii->bi', T @ U) ** 2) + sum(einsum('bij,jk->ik', T, A.T))"
     " + sum(tensordot(T, U, axes=([1, 2], [2, 1])) ** 2)",
     {"T": ("b", "d", "h"), "U": ("b", "h", "d"), "V": ("b", "d", "d"), "A": ("d", "h")}),
    ("sum(W * dot(T, B)) + sum(W * inner(T, A)) + sum(kron(w, u) ** 2) + sum(kron(A, B) ** 2) + sum((T @ U) * W)",
     {"T": ("b", "d", "h"), "B": ("h", "d"), "W": ("b", "d", "d"), "A": ("d", "h"), "w": ("d",), "u": ("h",),
      "U": ("b", "h", "d")}),
]


@pytest.mark.parametrize("source, shapes", VOCABULARY + SHAPE_VOCABULARY + LINALG_VOCABULARY)
def test_vocabulary_on_torch(source, shapes):
    torch = pytest.importorskip("torch")
    _check(source, shapes, torch.from_numpy, lambda x: x.numpy() if hasattr(x, "numpy") else x)


@pytest.mark.parametrize("source, shapes", VOCABULARY + SHAPE_VOCABULARY + LINALG_VOCABULARY)
def test_vocabulary_under_jax_jit(source, shapes):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    _check(source, shapes, jax.numpy.asarray, np.asarray, wrap=jax.jit)


@pytest.mark.parametrize("source, shapes", SHAPE_VOCABULARY)
def test_float32_stays_float32_through_shapes_and_constructions(source, shapes):
    """On strict, where an array made in float64 (full, a literal, eye) would promote the result: every array
    the module makes takes the inputs' float dtype."""
    strict = pytest.importorskip("array_api_strict")
    _, module, _ = _modules(source, shapes)
    inputs = {k: strict.asarray(v.astype(np.float32) if v.dtype.kind == "f" else v)
              for k, v in _inputs(source, shapes).items()}
    value, grads = module.value_and_grad(**inputs)
    assert value.dtype == strict.float32 and all(g.dtype == strict.float32 for g in grads.values())


# slices of negative step, which torch does not take: written as positive steps of a flipped axis
NEGATIVE_STEPS = ["x[::-1]", "x[::-2]", "x[1::-1]", "x[-2:0:-3]", "x[10::-4]", "x[:-7:-1]", "x[2:4:-1]",
                  "X[::-1, 1::2]", "X[1:, ::-3]", "X[None, ::-1, 0]", "X[-1, ::-2]"]


@pytest.mark.parametrize("index", NEGATIVE_STEPS)
@pytest.mark.parametrize("library", ["strict", "torch", "jax"])
def test_a_slice_of_negative_step_means_numpys_on_every_namespace(index, library):
    module = pytest.importorskip({"strict": "array_api_strict", "torch": "torch", "jax": "jax"}[library])
    shapes = {"x": (6,), "X": (5, 4)}
    name = index[0]
    source = f"sum(W * {index}) + sum({index} ** 3)"
    rng = np.random.default_rng(2)
    array = rng.normal(size=shapes[name])
    expected_shape = np.shape(eval(index, {}, {name: array}))  # the test's own constant text: NumPy's meaning
    weights = rng.normal(size=expected_shape)
    numpy_module, array_module, _ = _modules(source, {name: shapes[name], "W": expected_shape})
    value, grads = numpy_module.value_and_grad(W=weights, **{name: array})
    function = array_module.value_and_grad
    if library == "strict":
        convert, back = module.asarray, lambda a: np.asarray(module.asarray(a, copy=True)._array)
    elif library == "torch":
        convert, back = module.from_numpy, lambda a: a.numpy()
    else:
        module.config.update("jax_enable_x64", True)
        convert, back, function = module.numpy.asarray, np.asarray, module.jit(function)
    got_value, got = function(W=convert(weights), **{name: convert(array)})
    np.testing.assert_allclose(back(got_value), value, rtol=1e-12)
    np.testing.assert_allclose(back(got[name]), grads[name], rtol=1e-12, atol=1e-14)


# dask.array, through array_api_compat's dask namespace: the module builds a lazy graph of chunked arrays
DASK_CASES = [
    ("0.5*sum((X@w - y)**2)", {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("mean(log(1 + exp(-y * (X @ w))))", {"X": ("n", "d"), "w": ("d",), "y": ("n",)}),
    ("h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); mean((p - y)**2)",
     {"X": ("n", "d"), "W1": ("d", "h"), "b1": ("h",), "w2": ("h",), "b2": (), "y": ("n",)}),
    ("mean(logsumexp(X@W, axis=1) - sum(Y*(X@W), axis=1))", {"X": ("n", "d"), "W": ("d", "h"), "Y": ("n", "h")}),
    ("-mean(log_softmax(X @ W, axis=1)[arange(n), labels])", {"X": ("n", "d"), "W": ("d", "h"), "labels": Int("n")}),
    ("sum(x[::-1] * x) + sum(cumsum(x)) + sum(X[1:, ::2] ** 2)", {"x": ("n",), "X": ("n", 4)}),
]


@pytest.mark.parametrize("source, shapes", DASK_CASES)
def test_dask_arrays_give_the_numpy_modules_values_lazily(source, shapes):
    da = pytest.importorskip("dask.array")
    numpy_module, module, _ = _modules(source, shapes)
    rng = np.random.default_rng(3)
    sizes = {"n": 40, "d": 3, "h": 4}
    inputs = {name: rng.integers(0, sizes["h"], 40) if name == "labels" else
              rng.normal(size=tuple(sizes.get(d, d) for d in dims)) for name, dims in shapes.items()}
    value, grads = numpy_module.value_and_grad(**inputs)
    got_value, got = module.value_and_grad(**{name: da.from_array(a, chunks=10 if a.ndim else ())
                                              for name, a in inputs.items()})
    assert all(isinstance(r, da.Array) for r in [got_value, *got.values()])  # nothing computed yet
    np.testing.assert_allclose(got_value.compute(), value, rtol=1e-9)
    for name in grads:
        np.testing.assert_allclose(got[name].compute(), grads[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_namespace_without_the_linalg_functions_is_told_which_on_entry():
    """The standard's linalg extension is optional; dask's namespace has inv and solve but no slogdet."""
    da = pytest.importorskip("dask.array")
    source, shapes = "0.5*slogdet(S)[1] + 0.5*(x @ solve(S, x))", {"x": ("d",), "S": ("d", "d")}
    _, module, text = _modules(source, shapes)
    assert "('inv', 'slogdet', 'solve')" in text
    S = np.eye(3) * 2.0
    with pytest.raises(TypeError, match=r"\(array_api_compat.dask.array\) has no linalg.slogdet, which this module"):
        module.value_and_grad(x=da.ones(3), S=da.from_array(S))
    assert module.value_and_grad(x=np.ones(3), S=S)[0] == pytest.approx(0.5 * np.log(8.0) + 0.75)


def test_a_module_without_linalg_checks_nothing_of_it():
    assert "linalg" not in _modules(*CASES[0])[2]


# On a GPU (skipped where there is none): the module's results stay on the inputs' device and in their dtype
@pytest.mark.parametrize("source, shapes", CASES[:3] + DASK_CASES[3:5])
def test_cupy_arrays_stay_on_the_gpu_in_float32(source, shapes):
    cupy = pytest.importorskip("cupy")
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("no CUDA device")
    _on_device(source, shapes, lambda a: cupy.asarray(a), lambda a: cupy.asnumpy(a),
               lambda r: isinstance(r, cupy.ndarray) and r.dtype == cupy.float32)


@pytest.mark.parametrize("source, shapes", CASES[:3] + DASK_CASES[3:5])
def test_torch_cuda_tensors_stay_on_the_gpu_in_float32(source, shapes):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch")
    _on_device(source, shapes, lambda a: torch.from_numpy(a).to("cuda"), lambda a: a.cpu().numpy(),
               lambda r: r.is_cuda and r.dtype == torch.float32)


@pytest.mark.parametrize("source, shapes", CASES[:3] + DASK_CASES[3:5])
def test_torch_cpu_tensors_in_float32_stay_float32(source, shapes):
    """The GPU tests' check, on the CPU, where it runs everywhere."""
    torch = pytest.importorskip("torch")
    _on_device(source, shapes, torch.from_numpy, lambda a: a.numpy(),
               lambda r: r.device.type == "cpu" and r.dtype == torch.float32)


def _on_device(source, shapes, to_device, to_host, on_device_in_float32):
    numpy_module, module, _ = _modules(source, shapes)
    rng = np.random.default_rng(4)
    inputs = {name: rng.integers(0, SIZES["h"], SIZES["n"]) if isinstance(dims, Int) else
              rng.uniform(0.5, 1.5, tuple(SIZES.get(d, d) for d in dims)) for name, dims in shapes.items()}
    value, grads = numpy_module.value_and_grad(**inputs)
    on_gpu = {name: to_device(a if a.dtype.kind == "i" else a.astype(np.float32)) for name, a in inputs.items()}
    got_value, got = module.value_and_grad(**on_gpu)
    assert all(on_device_in_float32(r) for r in [got_value, *got.values()])
    np.testing.assert_allclose(to_host(got_value), value, rtol=1e-4)
    for name in grads:
        np.testing.assert_allclose(to_host(got[name]), grads[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_the_modules_regenerate_command_names_the_backend_and_gives_it_back(tmp_path, capsys):
    """The docstring's `gradc compile ...` line, run, writes the same module (the array-api one, not NumPy's)."""
    from gradc.cli.main import main
    fn = gradc.compile("sum(sqrt(d) * x) + sum(X @ x)", shapes={"x": ("d",), "X": ("n", "d")}, backend="array-api")
    command = re.search(r"regenerate with `gradc compile (.*)`\.", fn.source).group(1)
    assert command.endswith("--backend array-api")
    assert main(["compile"] + shlex.split(command)) == 0
    assert capsys.readouterr().out.rstrip("\n") == fn.source.rstrip("\n")


@pytest.mark.parametrize("library", ["array_api_strict", "torch", "jax"])
def test_a_function_of_sizes_alone_is_computed_on_arrays(library):
    """sqrt(d) of a dimension: the standard's sqrt takes an array (torch's refuses a float)."""
    xp = pytest.importorskip(library)
    source = "sum(x * sqrt(d)) + log(n) * sum(X)"
    shapes = {"x": ("d",), "X": ("n", "d")}
    numpy_module, module, _ = _modules(source, shapes)
    x, X = np.arange(1.0, 4.0), np.ones((2, 3))
    if library == "jax":
        xp.config.update("jax_enable_x64", True)
    convert = (lambda a: xp.numpy.asarray(a)) if library == "jax" else xp.asarray
    value, _ = module.value_and_grad(x=convert(x), X=convert(X))
    assert float(value) == pytest.approx(numpy_module.value_and_grad(x=x, X=X)[0], rel=1e-12)
