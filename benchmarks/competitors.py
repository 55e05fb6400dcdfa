"""The implementations compared: gradc, hand-written NumPy, JAX, PyTorch, HIPS autograd.

Each builder takes a workload and its inputs and returns an `Impl`: a `call` to time (no arguments, does the
whole value-and-gradient the way a user of that tool would) and a `result` giving (value, {name: ndarray})
for the equality check. A tool that cannot be imported raises `Unavailable`, reported as "not installed".
"""
import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np


class Unavailable(Exception):
    """The tool is not installed (or not usable here); the row says so instead of failing."""


@dataclass
class Impl:
    name: str
    call: Callable             # the timed thing
    result: Callable           # () -> (float value, {name: ndarray})
    family: str = "numpy"      # the runtime whose thread pool it uses (timing.round_robin groups by it)


def _as_numpy_result(value, grads, wrt):
    return float(value), {k: np.asarray(g, dtype=np.float64) for k, g in zip(wrt, grads)}


# --- NumPy: hand-written --------------------------------------------------------------------------

def hand(workload, arrays):
    args = tuple(arrays.values())
    f = workload.hand_vag
    return Impl("hand", lambda: f(*args), lambda: f(*args))


def hand_forward(workload, arrays):
    args = tuple(arrays.values())
    f = workload.hand_fwd
    return Impl("hand fwd", lambda: f(*args), None)


# --- gradc ------------------------------------------------------------------------------------------

def import_gradc():
    try:
        import gradc
    except Exception as e:  # noqa: BLE001 - any failure means "not available yet"
        raise Unavailable(f"gradc not importable: {type(e).__name__}: {e}") from e
    return gradc


def gradc_compile(workload, source=None):
    """gradc.compile for a workload (source overridable so the compile-time bench can bypass the cache)."""
    gradc = import_gradc()
    return gradc.compile(source or workload.source, wrt=list(workload.wrt), shapes=workload.shapes)


def generated_module(fn):
    """The generated module object behind a CompiledFunction.

    Prefer the module gradc itself loaded; otherwise import `fn.source` from a file, as gradc does,
    so the functions timed are exactly the text a user would save.
    """
    for attr in ("module", "_module", "mod", "_mod"):
        mod = getattr(fn, attr, None)
        if mod is not None and hasattr(mod, "value_and_grad"):
            return mod
    fd, path = tempfile.mkstemp(suffix=".py", prefix="gradc_bench_")
    with os.fdopen(fd, "w") as fh:
        fh.write(fn.source)
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _gradc_args(mod, arrays):
    names = getattr(mod, "INPUTS", tuple(arrays))
    return tuple(arrays[k] for k in names)


def gradc_direct(workload, arrays, fn):
    mod = generated_module(fn)
    args = _gradc_args(mod, arrays)
    f = mod.value_and_grad
    return Impl("gradc", lambda: f(*args), lambda: f(*args))


def gradc_api(workload, arrays, fn):
    f = fn.value_and_grad
    return Impl("gradc api", lambda: f(**arrays), lambda: f(**arrays))


def gradc_forward(workload, arrays, fn):
    mod = generated_module(fn)
    args = _gradc_args(mod, arrays)
    f = mod.forward
    return Impl("gradc fwd", lambda: f(*args), None)


# --- JAX --------------------------------------------------------------------------------------------

def _import(name):
    try:
        return __import__(name, fromlist=["_"])
    except Exception as e:  # noqa: BLE001
        raise Unavailable(f"{name} not installed") from e


def jax_impl(workload, arrays):
    jax = _import("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = _import("jax.numpy")
    ns = SimpleNamespace(sum=jnp.sum, mean=jnp.mean, tanh=jnp.tanh, log=jnp.log, exp=jnp.exp,
                         sigmoid=jax.nn.sigmoid, relu=jax.nn.relu,
                         logsumexp=_import("jax.scipy.special").logsumexp,
                         logabsdet=lambda S: jnp.linalg.slogdet(S)[1], solve=jnp.linalg.solve,
                         softmax=jax.nn.softmax)
    argnums = tuple(workload.inputs.index(k) for k in workload.wrt)
    vag = jax.jit(jax.value_and_grad(lambda *a: workload.loss(ns, *a), argnums=argnums))
    # NOTE: inputs live on the device already, as in a JAX program; passing NumPy arrays would time a copy.
    args = tuple(jnp.asarray(a, dtype=jnp.float64) for a in arrays.values())

    def call():
        return jax.block_until_ready(vag(*args))

    def result():
        v, g = call()
        return _as_numpy_result(v, g, workload.wrt)
    return Impl("jax", call, result, family="xla")


# --- PyTorch ----------------------------------------------------------------------------------------

def _torch_ns(torch):
    def axis_op(op):
        return lambda x, axis=None: op(x) if axis is None else op(x, dim=axis)
    return SimpleNamespace(sum=axis_op(torch.sum), mean=axis_op(torch.mean), tanh=torch.tanh,
                           log=torch.log, exp=torch.exp, sigmoid=torch.sigmoid, relu=torch.relu,
                           logsumexp=lambda x, axis: torch.logsumexp(x, dim=axis),
                           logabsdet=lambda S: torch.linalg.slogdet(S)[1], solve=torch.linalg.solve,
                           softmax=lambda x, axis: torch.softmax(x, dim=axis))


def torch_impl(workload, arrays):
    torch = _import("torch")
    if os.environ.get("GRADC_BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["GRADC_BENCH_THREADS"]))
    ns = _torch_ns(torch)
    tensors = [torch.as_tensor(np.asarray(a, dtype=np.float64)).requires_grad_(k in workload.wrt)
               for k, a in arrays.items()]
    params = [tensors[workload.inputs.index(k)] for k in workload.wrt]
    loss = workload.loss

    def call():
        value = loss(ns, *tensors)
        return value, torch.autograd.grad(value, params)

    def result():
        v, g = call()
        return _as_numpy_result(v.item(), [t.detach().numpy() for t in g], workload.wrt)
    return Impl("torch", call, result, family="torch")


# --- HIPS autograd ----------------------------------------------------------------------------------

def autograd_impl(workload, arrays):
    autograd = _import("autograd")
    anp = _import("autograd.numpy")
    ns = SimpleNamespace(sum=anp.sum, mean=anp.mean, tanh=anp.tanh, log=anp.log, exp=anp.exp,
                         sigmoid=lambda z: 0.5 * (anp.tanh(0.5 * z) + 1.0),
                         relu=lambda a: anp.maximum(a, 0.0),
                         logsumexp=_import("autograd.scipy.special").logsumexp,
                         logabsdet=lambda S: anp.linalg.slogdet(S)[1], solve=anp.linalg.solve,
                         softmax=lambda x, axis: anp.exp(x - _import("autograd.scipy.special").logsumexp(
                             x, axis=axis, keepdims=True)))
    argnum = tuple(workload.inputs.index(k) for k in workload.wrt)
    vag = autograd.value_and_grad(lambda *a: workload.loss(ns, *a), argnum)
    args = tuple(arrays.values())

    def result():
        v, g = vag(*args)
        return _as_numpy_result(v, g, workload.wrt)
    return Impl("autograd", lambda: vag(*args), result)


# --- gradc's array-api module on other libraries' arrays (issue 13) --------------------------------------

def _array_api_module(workload):
    gradc = import_gradc()
    fn = gradc.compile(workload.source, wrt=list(workload.wrt), shapes=workload.shapes, backend="array-api")
    return generated_module(fn)


def _as_result(value, grads, wrt):
    return float(value), {k: np.asarray(grads[k], dtype=np.float64) for k in wrt}


def gradc_torch(workload, arrays):
    """The array-api module on PyTorch CPU tensors: the same inputs and threads as the torch column."""
    torch = _import("torch")
    if os.environ.get("GRADC_BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["GRADC_BENCH_THREADS"]))
    mod = _array_api_module(workload)
    args = _gradc_args(mod, {k: torch.as_tensor(np.asarray(a, dtype=np.float64)) for k, a in arrays.items()})
    f = mod.value_and_grad

    def result():
        v, g = f(*args)
        return _as_result(v.item() if hasattr(v, "item") else v, {k: t.numpy() for k, t in g.items()}, workload.wrt)
    return Impl("gradc@torch", lambda: f(*args), result, family="torch")


def gradc_jax(workload, arrays):
    """jax.jit of the array-api module's value_and_grad, inputs on the device as in the jax column."""
    jax = _import("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = _import("jax.numpy")
    mod = _array_api_module(workload)
    args = _gradc_args(mod, {k: jnp.asarray(a, dtype=jnp.float64) for k, a in arrays.items()})
    f = jax.jit(mod.value_and_grad)

    def call():
        return jax.block_until_ready(f(*args))

    def result():
        v, g = call()
        return _as_result(v, g, workload.wrt)
    return Impl("gradc@jax", call, result, family="xla")


COMPETITORS = {"jax": jax_impl, "torch": torch_impl, "autograd": autograd_impl,
               "gradc@torch": gradc_torch, "gradc@jax": gradc_jax}


def versions():
    """Installed versions of everything compared, for the report header."""
    from importlib import metadata
    out = {"python": sys.version.split()[0], "numpy": np.__version__}
    for name in ("jax", "jaxlib", "torch", "autograd"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        gradc = import_gradc()
        out["gradc"] = f"{getattr(gradc, '__version__', '?')} from {os.path.dirname(gradc.__file__)}"
    except Unavailable:
        out["gradc"] = "not importable"
    return out
