"""The Python API: `compile()` a source into a CompiledFunction, or decorate a function with `@gradient`."""
import contextlib
import functools
import gc
import re
import threading

import numpy as np

from gradc import pipeline
from gradc.backend.numpy.load import load_module
from gradc.derivative_methods import Derivatives
from gradc.errors import GradcError, ShapeError
from gradc.frontend import pyfunc
from gradc.shapes import declared, show
from gradc.viz.render import render

# Compiling the same arguments twice returns the same CompiledFunction: callers (gradc.gradient, the CLI,
# minimize) compile freely, and the derived variants it compiles on demand stay with it. The compiler's one
# piece of shared state, so it is locked: threads compile in parallel, and all get the first result stored.
_CACHE = {}
_CACHE_LOCK = threading.Lock()
# What the generated modules' checks on entry raise (see gradc.backend.numpy.prologue): a shape, or a value that is not real.
_SHAPE_MESSAGE = re.compile(r"^\w+ has shape ")
_REAL_MESSAGE = re.compile(r"^\w+ must (be a real number|hold real numbers), not ")


def compile(source, wrt=None, shapes=None, example=None, readable=False):  # noqa: A001 - the promised name
    """Compile `source` into a CompiledFunction; compiling the same thing twice returns the cached one.

    Args:
        source: an expression, or `name = expr` statements ending in an expression, or a Python function
            (read with `inspect`, never called; its parameters are the inputs, in order).
        wrt: names of the inputs to differentiate with respect to; default every input.
        shapes: input name -> dims, e.g. {"X": ("n", "d"), "w": ("d",)}; undeclared inputs are scalars.
        example: input name -> example array, for shapes (equal sizes share a dim name d0, d1, ...; see
            `gradc.frontend.pyfunc.shapes_from_example`) and the float dtype (`.dtype`); `shapes` takes precedence.
        readable: generate the module as a textbook prints it (no in-place writes, each backward line
            commented with its chain-rule step), not the fast default; the values are the same.
    """
    dtype = None
    if not isinstance(source, str):
        source = pyfunc.of_callable(source)
    if example is not None:
        avoid = source.parameters if isinstance(source, pyfunc.Function) else ()
        inferred, dtype = pyfunc.shapes_from_example(example, avoid)
        shapes = {**inferred, **(shapes or {})}
    shapes = declared(shapes)
    readable = bool(readable)
    key = (source, _wrt_names(wrt), tuple(sorted(shapes.items(), key=lambda item: item[0])), str(dtype), readable)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        with _no_cycle_collection():
            compiled = CompiledFunction(pipeline.run(source, key[1], shapes, dtype=dtype, readable=readable), shapes,
                                        dtype)
        with _CACHE_LOCK:
            cached = _CACHE.setdefault(key, compiled)
    return cached


def _wrt_names(wrt):
    """`wrt` as a tuple of names (None stays None: every input); a name must be a string.

    A set's names are sorted: its own order changes with the hash seed, and the module's text would too.
    """
    if wrt is None:
        return None
    try:
        names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    except TypeError:
        raise GradcError(f"wrt is an input name or a list of them, not {wrt!r:.40}") from None
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise GradcError(f"wrt names inputs by strings, not {bad[0]!r:.40}")
    return tuple(sorted(names)) if isinstance(wrt, (set, frozenset)) else names


@contextlib.contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector while a graph is built: it would rescan the growing graph over and
    over (a third of the compile time at 10,000 nodes); it runs again, as usual, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class CompiledFunction(Derivatives):
    """A compiled expression: the generated module's functions, its text and the graphs behind it.

    Besides the value and gradient it gives jvp, vjp, jacobian, hvp and hessian (see `gradc.derivative_methods`).
    """

    def __init__(self, stages, shapes, dtype=None):
        self.stages = stages
        self.shapes = shapes
        self.dtype = dtype  # the example arrays' float dtype, when compiled from examples
        self.source = stages.source
        self.module = load_module(self.source)
        self.inputs = self.module.INPUTS
        self.wrt = self.module.WRT
        self._forward = self.module.forward
        self._value_and_grad = getattr(self.module, "value_and_grad", None)

    def __repr__(self):
        return f"<gradc.CompiledFunction f({', '.join(self.inputs)}) wrt {', '.join(self.wrt) or 'nothing'}>"

    def forward(self, /, **arrays):
        """The value at `arrays` (one keyword per input)."""
        try:
            return self._forward(**arrays)
        except (TypeError, ValueError) as error:
            raise self._explain(error, arrays) from None

    def value_and_grad(self, /, **arrays):
        """(value, {name: gradient}); each gradient has its input's shape, a float for a scalar input."""
        if self._value_and_grad is None:
            shape = self.stages.final.shape(self.stages.final.outputs[0])
            raise GradcError(f"this function has no gradient: its output has shape {show(shape)}, not a scalar "
                             "(sum it, or use vjp or jacobian)")
        try:
            return self._value_and_grad(**arrays)
        except (TypeError, ValueError) as error:
            raise self._explain(error, arrays) from None

    def grad(self, /, **arrays):
        """{name: gradient} at `arrays`."""
        return self.value_and_grad(**arrays)[1]

    def render(self, at=None, pass_="both", stage="final"):
        """A graphviz.Digraph of the forward and backward passes, with values at `at` (see gradc.viz.render)."""
        return render(self.stages, at=at, pass_=pass_, stage=stage)

    def save(self, path):
        """Write the standalone module (it imports only numpy) to `path`."""
        try:
            with open(path, "w", encoding="utf-8") as file:
                file.write(self.source)
        except OSError as error:
            raise GradcError(f"cannot write '{path}': {error.strerror or error}") from None
        return path

    def _explain(self, error, arrays):
        """Turn a call's bad arguments into a GradcError; anything else passes through."""
        missing = [name for name in self.inputs if name not in arrays]
        unknown = [name for name in arrays if name not in self.inputs]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("missing input " + ", ".join(missing))
            if unknown:
                parts.append("unknown input " + ", ".join(unknown))
            return GradcError(f"{'; '.join(parts)} (inputs: {', '.join(self.inputs)})")
        if isinstance(error, ValueError) and _SHAPE_MESSAGE.match(str(error)):
            return ShapeError(str(error))
        if isinstance(error, TypeError) and _REAL_MESSAGE.match(str(error)):
            return GradcError(str(error))
        for name in self.inputs:  # what NumPy cannot make an array of (a ragged list) fails before any check
            try:
                np.asarray(arrays[name])
            except (TypeError, ValueError) as reason:
                return GradcError(f"{name} is not an array of numbers: {reason}")
        return error


def gradient(func=None, *, wrt=None, shapes=None, example=None):
    """Decorator: compile the function where it is defined, keeping it callable.

    `@gradc.gradient` or `@gradc.gradient(wrt=..., shapes=..., example=...)` returns a `Gradient`:
    calling it computes the function's value with the compiled code, positionally or by keyword, and
    `.grad`, `.value_and_grad`, `.source`, `.save` and `.compiled` (the CompiledFunction) are there.
    Errors in the body are raised at definition time, pointing at the file and line.
    """
    def decorate(f):
        return Gradient(f, compile(f, wrt=wrt, shapes=shapes, example=example))
    return decorate if func is None else decorate(func)


class Gradient:
    """A Python function compiled by gradc: a drop-in for the function that also has its gradient.

    Positional arguments follow the function's parameters, as `INPUTS` does.
    """

    def __init__(self, func, compiled):
        functools.update_wrapper(self, func)
        self.compiled = compiled
        self.inputs, self.wrt, self.source = compiled.inputs, compiled.wrt, compiled.source

    def __repr__(self):
        return f"<gradc.Gradient {self.__name__}({', '.join(self.inputs)}) wrt {', '.join(self.wrt) or 'nothing'}>"

    def _arrays(self, args, kwargs):
        if len(args) > len(self.inputs):
            raise GradcError(f"{self.__name__} takes {len(self.inputs)} inputs, got {len(args)}")
        for name, value in zip(self.inputs, args):
            if name in kwargs:
                raise GradcError(f"{self.__name__} got {name} twice")
            kwargs[name] = value
        return kwargs

    def __call__(self, /, *args, **kwargs):
        """The value, as the function computes it."""
        return self.compiled.forward(**self._arrays(args, kwargs))

    def forward(self, /, *args, **kwargs):
        return self.compiled.forward(**self._arrays(args, kwargs))

    def value_and_grad(self, /, *args, **kwargs):
        """(value, {name: gradient})."""
        return self.compiled.value_and_grad(**self._arrays(args, kwargs))

    def grad(self, /, *args, **kwargs):
        """{name: gradient}."""
        return self.compiled.grad(**self._arrays(args, kwargs))

    def save(self, path):
        return self.compiled.save(path)
