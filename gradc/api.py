"""The Python API: `compile()` a source into a CompiledFunction, or decorate a function with `@gradient`.

Every entry point is positional in `INPUTS` order as well as by keyword, and raises its GradcError from itself:
the traceback ends at the user's call, not under the compiler's frames (the message says where in the source).
"""
import ast
import contextlib
import functools
import gc
import re
import threading

import numpy as np

from gradc import pipeline
from gradc.cluster import gradients as cluster
from gradc.cluster.separability import separable
from gradc.backend.load import load_module
from gradc.derivative_methods import Derivatives, bind, boundary
from gradc.errors import GradcError, ShapeError
from gradc.frontend import pyfunc
from gradc.shapes import declared, integer_names, show
from gradc.viz.lesson import LessonPage, lesson
from gradc.viz.render import render

# Compiling the same arguments twice returns the same CompiledFunction: callers (gradc.gradient, the CLI,
# minimize) compile freely, and the derived variants it compiles on demand stay with it. The compiler's one
# piece of shared state, so it is locked: threads compile in parallel, and all get the first result stored.
_CACHE = {}
_CACHE_LOCK = threading.Lock()
# What the generated modules' checks on entry raise (see gradc.backend.numpy.prologue): a shape, or a value that is not real.
_SHAPE_MESSAGE = re.compile(r"^(\w+) has shape ")
# What a module refuses about its inputs' types, said as a GradcError (a mixed namespace: the array-api backend).
_REAL_MESSAGE = re.compile(r"^(\w+ must (be a real number|hold real numbers), not |the array inputs \(.*\) must be "
                           r"arrays of one namespace|the inputs' namespace \(.*\) has no )")
REPR_SOURCE = 60  # characters of the source a repr shows


@boundary
def compile(source, wrt=None, shapes=None, example=None, readable=False, strict=True, backend="numpy"):  # noqa: A001 - the promised name
    """Compile `source` into a CompiledFunction; compiling the same thing twice returns the cached one.

    Args:
        source: an expression, or `name = expr` statements ending in an expression, or a Python function
            (read with `inspect`, never called; its parameters are the inputs, in order).
        wrt: what to differentiate with respect to: an input name, a position in the inputs' order (JAX's
            argnums: `fn.inputs` order, a source's names in order of first appearance), or a list of them;
            default every input.
        shapes: input name -> dims, e.g. {"X": ("n", "d"), "w": ("d",)}; undeclared inputs are scalars.
        example: input name -> example array, for shapes (equal sizes share a dim name d0, d1, ...; see
            `gradc.frontend.pyfunc.shapes_from_example`) and the float dtype (`.dtype`); `shapes` takes precedence.
        readable: generate the module as a textbook prints it (no in-place writes, each backward line
            commented with its chain-rule step), not the fast default; the values are the same.
        strict: refuse a shape for a name that is not an input (most often a typo: a did-you-mean says which);
            strict=False ignores such shapes, so that one dict of shapes can serve several models.
        backend: "numpy" (the default), or "array-api": a module for any Array API namespace (NumPy, CuPy,
            PyTorch, JAX, array-api-strict) that takes its namespace, dtype and device from its inputs.
    """
    dtype, origin = None, {}
    if not isinstance(source, str):
        source = pyfunc.of_callable(source)
    if example is not None:
        avoid = source.parameters if isinstance(source, pyfunc.Function) else ()
        inferred, dtype = pyfunc.shapes_from_example(example, avoid)
        origin = {name: tuple(np.shape(example[name])) for name in inferred if name not in (shapes or {})}
        shapes = {**inferred, **(shapes or {})}
    shapes = declared(shapes)
    readable = bool(readable)
    # The example's sizes are in the key only for what they say in errors (which sizes tied which axes).
    # NOTE: Int("n") == ("n",) as tuples: the integer inputs' names keep the two declarations apart.
    key = (source, _wrt_names(wrt), tuple(sorted(shapes.items(), key=lambda item: item[0])), integer_names(shapes),
           str(dtype), readable,
           tuple(sorted(origin.items())), backend)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        with _no_cycle_collection():
            try:
                stages = pipeline.run(source, key[1], shapes, dtype=dtype, readable=readable, strict=strict,
                                      backend=backend)
            except pipeline.UnusedShapeError as error:
                raise _strict_hint(error) from None
            compiled = CompiledFunction(stages, shapes, dtype, origin, source)
        with _CACHE_LOCK:
            cached = _CACHE.setdefault(key, compiled)
    elif strict:
        try:
            pipeline.check_shapes_used(cached.stages.parsed.inputs, shapes)
        except pipeline.UnusedShapeError as error:
            raise _strict_hint(error) from None
    return cached


def _strict_hint(error):
    return pipeline.UnusedShapeError(f"{error.message}; strict=False ignores shapes of names the source does not use")


def _wrt_names(wrt):
    """`wrt` as a tuple of names and positions (None stays None: every input); each a string or an int.

    A set's names are sorted: its own order changes with the hash seed, and the module's text would too.
    """
    if wrt is None:
        return None
    try:
        names = (wrt,) if isinstance(wrt, (str, int)) else tuple(wrt)
    except TypeError:
        raise GradcError(f"wrt is an input name or position, or a list of them, not {wrt!r:.40}") from None
    bad = [name for name in names if not isinstance(name, (str, int)) or isinstance(name, bool)]
    if bad:
        raise GradcError(f"wrt names inputs by strings or positions (ints), not {bad[0]!r:.40}")
    if isinstance(wrt, (set, frozenset)):
        return tuple(sorted(names, key=lambda name: (isinstance(name, str), name)))
    return names


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

    Calling it gives the value: `fn(X, w, y)`, positionally in `fn.inputs` order or by keyword, as every method
    takes its inputs. Besides the value and gradient it gives jvp, vjp, jacobian, hvp and hessian (see
    `gradc.derivative_methods`).
    """

    def __init__(self, stages, shapes, dtype=None, origin=None, source=None):
        self.stages = stages
        self.shapes = shapes
        self.dtype = dtype  # the example arrays' float dtype, when compiled from examples
        self.example_shapes = origin or {}  # the example arrays' shapes, for the inputs whose dims came from them
        self.source = stages.source
        self.module = load_module(self.source)
        self.inputs = self.module.INPUTS
        self.wrt = self.module.WRT
        self._forward = self.module.forward
        self._value_and_grad = getattr(self.module, "value_and_grad", None)
        if isinstance(source, pyfunc.Function):  # a Python function keeps its name and docstring
            self.__name__ = self.__qualname__ = source.name
            self.__doc__ = ast.get_docstring(ast.parse(source.text).body[0])
        else:
            self.__name__ = self.__qualname__ = "f"

    def __repr__(self):
        graph = self.stages.parsed
        inputs = _names([name + (f": {show(graph.shape(node))}" if graph.shape(node) else "")
                         for name, node in graph.inputs.items()])
        return f"<gradc.CompiledFunction {self.__name__}({inputs}) = {_short(graph.source)}; wrt {_names(self.wrt)}>"

    def __call__(self, /, *args, **arrays):
        """The value at the inputs, positionally in `inputs` order or by keyword: `fn(X, w, y)`."""
        try:
            if args:
                arrays = bind(self.inputs, self.__name__, args, arrays)
            return self._forward(**arrays)
        except (TypeError, ValueError) as error:
            raise _stripped(self._explain(error, arrays)) from None
        except GradcError as error:
            raise error.with_traceback(None) from None

    def forward(self, /, *args, **arrays):
        """The value at the inputs (as calling the function does), positionally in `inputs` order or by keyword."""
        try:
            if args:
                arrays = bind(self.inputs, self.__name__, args, arrays)
            return self._forward(**arrays)
        except (TypeError, ValueError) as error:
            raise _stripped(self._explain(error, arrays)) from None
        except GradcError as error:
            raise error.with_traceback(None) from None

    def value_and_grad(self, /, *args, **arrays):
        """(value, {name: gradient}), as jax.value_and_grad; each gradient has its input's shape, a float for a
        scalar input. The inputs go positionally in `inputs` order or by keyword: `fn.value_and_grad(X, w, y)`.

        Row-chunked Dask arrays as the data (along a dimension in `separable`) run on the current
        `distributed.Client`, chunk by chunk where they live, and give the parameters' gradients (gradc.cluster)."""
        if self._value_and_grad is None:
            raise self._no_gradient()
        try:
            if args:
                arrays = bind(self.inputs, self.__name__, args, arrays)
            if cluster.has_dask(arrays):  # row-chunked data on a cluster: see gradc.cluster
                return cluster.value_and_grad(self, self._complete(arrays))
            return self._value_and_grad(**arrays)
        except (TypeError, ValueError) as error:
            raise _stripped(self._explain(error, arrays)) from None
        except GradcError as error:
            raise error.with_traceback(None) from None

    def grad(self, /, *args, **arrays):
        """{name: gradient} at the inputs (positionally in `inputs` order or by keyword)."""
        if self._value_and_grad is None:
            raise self._no_gradient()
        try:
            if args:
                arrays = bind(self.inputs, self.__name__, args, arrays)
            if cluster.has_dask(arrays):
                return cluster.value_and_grad(self, self._complete(arrays))[1]
            return self._value_and_grad(**arrays)[1]
        except (TypeError, ValueError) as error:
            raise _stripped(self._explain(error, arrays)) from None
        except GradcError as error:
            raise error.with_traceback(None) from None

    @property
    def separable(self):
        """The data dimensions the loss is a sum (or a function of sums) over, with the parameters free of them:
        ("n",) for a mean over rows of X (n, d). Row-chunked Dask arrays along one go to a cluster (gradc.cluster)."""
        if "_separable" not in self.__dict__:
            params = self.wrt if set(self.wrt) != set(self.inputs) else ()
            self._separable = separable(self.stages.parsed, params)
        return self._separable

    @boundary
    def hessian(self, /, *args, **arrays):
        """{a: {b: d2f/da db}} for a, b in wrt, nested as `jax.hessian` nests its blocks (see
        `Derivatives.hessian`); with Dask data, over the parameters, summed over the chunks on the cluster."""
        arrays = self._arguments(args, arrays)
        if cluster.has_dask(arrays):
            return cluster.hessian(self, self._complete(arrays))
        return self._run("hessian", arrays)

    def _complete(self, arrays):
        """`arrays`, refused with the inputs' names where one is missing or unknown."""
        if set(arrays) != set(self.inputs):
            raise self._explain(TypeError("inputs"), arrays)
        return arrays

    @boundary
    def render(self, at=None, pass_="both", stage="final", layout="auto", html=False):
        """A graphviz.Digraph of the forward and backward passes, with values at `at` (see gradc.viz.render);
        it displays inline in Jupyter.

        With `html=True` (and `at`, a value for every input) it is the step-through page instead, a
        `gradc.viz.lesson.LessonPage`: Jupyter shows it inline, `str()` of it is the HTML file's text (what
        `gradc render ... -o lesson.html` writes). `pass_`, `stage` and `layout` are the static picture's.
        """
        if html:
            return LessonPage(lesson(self.stages, at))
        return render(self.stages, at=at, pass_=pass_, stage=stage, layout=layout)

    @boundary
    def save(self, path):
        """Write the standalone module (it imports only numpy) to `path`."""
        try:
            with open(path, "w", encoding="utf-8") as file:
                file.write(self.source)
        except OSError as error:
            raise GradcError(f"cannot write '{path}': {error.strerror or error}") from None
        return path

    def _no_gradient(self):
        shape = self.stages.final.shape(self.stages.final.outputs[0])
        return GradcError(f"this function has no gradient: its output has shape {show(shape)}, not a scalar "
                          "(sum it, or use vjp or jacobian)")

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
        shape = _SHAPE_MESSAGE.match(str(error))
        if isinstance(error, ValueError) and shape:
            return ShapeError(str(error) + self._ties(shape.group(1), arrays))
        if isinstance(error, TypeError) and _REAL_MESSAGE.match(str(error)):
            return GradcError(str(error))
        for name in self.inputs:  # what NumPy cannot make an array of (a ragged list) fails before any check
            try:
                np.asarray(arrays[name])
            except (TypeError, ValueError) as reason:
                return GradcError(f"{name} is not an array of numbers: {reason}")
        return error

    def _ties(self, name, arrays):
        """Why `name`'s shape was refused where an example tied two axes by their equal sizes, and the call's
        arrays do not keep that equality: `; d0 ties X's two axes because the example X was 4x4; ...`."""
        if name not in self.example_shapes:
            return ""
        notes = []
        for dim in dict.fromkeys(d for d in self.shapes.get(name, ()) if isinstance(d, str)):
            places = [(other, axis) for other, shape in self.shapes.items() if other in self.example_shapes
                      for axis, d in enumerate(shape) if d == dim]
            sizes = {np.shape(arrays[other])[axis] if np.ndim(arrays.get(other, 0.0)) > axis else None
                     for other, axis in places}
            if len(places) > 1 and len(sizes) > 1:
                examples = " and ".join(f"{other} was {'x'.join(map(str, self.example_shapes[other]))}"
                                        for other in dict.fromkeys(other for other, _ in places))
                notes.append(f"{dim} ties {_places(places, self.shapes)} because the example {examples}")
        if not notes:
            return ""
        return "; " + "; ".join(notes) + "; pass shapes= to name them apart"


def _places(places, shapes):
    """(input, axis) pairs as a phrase: X's two axes, X's axis 0 and w's axis."""
    by_input = {}
    for name, axis in places:
        by_input.setdefault(name, []).append(axis)
    phrases = []
    for name, axes in by_input.items():
        every = len(axes) == len(shapes[name])
        if every and len(axes) <= 3:
            phrases.append(f"{name}'s {('axis', 'two axes', 'three axes')[len(axes) - 1]}")
        elif len(axes) == 1:
            phrases.append(f"{name}'s axis {axes[0]}")
        elif len(axes) == 2:
            phrases.append(f"{name}'s axes {axes[0]} and {axes[1]}")
        else:
            phrases.append(f"{name}'s axes {', '.join(map(str, axes))}")
    return " and ".join(phrases)


def _names(names, most=8):
    """Names for a repr: `x0, x1, ...` past `most` of them (the first six), `nothing` for none."""
    names = list(names)
    if len(names) > most:
        names = names[:6] + ["..."]
    return ", ".join(names) or "nothing"


def _short(source):
    """A source on one line, shortened: `h = tanh(X@W1 + b1); p = ...`."""
    lines = [" ".join(line.split()) for line in source.splitlines()]
    text = "; ".join(line for line in lines if line)
    return text if len(text) <= REPR_SOURCE else text[:REPR_SOURCE - 3] + "..."


def _stripped(error):
    """A GradcError without the frames it was raised through; anything else as it is."""
    return error.with_traceback(None) if isinstance(error, GradcError) else error


def gradient(func=None, *, wrt=None, shapes=None, example=None):
    """Decorator: compile the function where it is defined, keeping it callable.

    `@gradc.gradient` or `@gradc.gradient(wrt=..., shapes=..., example=...)` returns a `Gradient`:
    calling it computes the function's value with the compiled code, positionally or by keyword, and
    `.grad`, `.value_and_grad`, `.source`, `.save` and `.compiled` (the CompiledFunction) are there.
    Errors in the body are raised at definition time, pointing at the file and line.

    Without `shapes=` or `example=`, as `jax.jit` does, the shapes come from the calls: the first call compiles
    the function for its arrays (as `example=` them), and a later call whose arrays do not fit compiles it again
    for theirs; `repr()` says which call fixed the shapes in use.
    """
    @boundary
    def decorate(f):
        if shapes is not None or example is not None:
            return Gradient(f, compile(f, wrt=wrt, shapes=shapes, example=example))
        try:
            compiled = compile(f, wrt=wrt)  # all inputs scalars: the body's errors are found here, at its def
        except ShapeError:
            compiled = None  # it needs arrays: their shapes come from the first call
        return Gradient(f, compiled, wrt=wrt, from_calls=True)
    return decorate if func is None else decorate(func)


class Gradient:
    """A Python function compiled by gradc: a drop-in for the function that also has its gradient.

    Positional arguments follow the function's parameters, as `INPUTS` does.
    """

    def __init__(self, func, compiled, wrt=None, from_calls=False):
        functools.update_wrapper(self, func)
        self.compiled = compiled
        self._from_calls = from_calls  # shapes from the calls' arrays (no shapes= or example= given)
        self._wrt = wrt
        self._calls = 0
        self._fixed_by = None  # which call's arrays gave the shapes in use, when they came from a call
        self.inputs = compiled.inputs if compiled is not None else tuple(pyfunc.of_callable(func).parameters)

    @property
    def wrt(self):
        if self.compiled is not None:
            return self.compiled.wrt
        if self._wrt is None:
            return self.inputs
        items = (self._wrt,) if isinstance(self._wrt, (str, int)) else tuple(self._wrt)
        return tuple(self.inputs[item] if isinstance(item, int) else item for item in items)

    @property
    def source(self):
        if self.compiled is None:
            raise GradcError(f"{self.__name__} is compiled at its first call, for that call's shapes: call it, "
                             "or pass shapes= or example= to @gradc.gradient")
        return self.compiled.source

    def __repr__(self):
        wrt = ", ".join(self.wrt) or "nothing"
        if self.compiled is None:
            return f"<gradc.Gradient {self.__name__}({', '.join(self.inputs)}) wrt {wrt}; compiled at its first call>"
        shapes = self.compiled.shapes
        inputs = ", ".join(name + (f": {show(shapes[name])}" if shapes.get(name) else "") for name in self.inputs)
        fixed = f"; shapes from {self._fixed_by}" if self._fixed_by else ""
        return f"<gradc.Gradient {self.__name__}({inputs}) wrt {wrt}{fixed}>"

    def _call(self, method, args, kwargs):
        arrays = bind(self.inputs, self.__name__, args, kwargs)
        self._calls += 1
        compiled = self.compiled or self._specialize(arrays)
        try:
            return getattr(compiled, method)(**arrays)
        except ShapeError as error:
            if not self._from_calls or not _SHAPE_MESSAGE.match(error.message):
                raise _stripped(error) from None
        # Arrays of other shapes than the ones it was compiled for: compiled again for theirs, as jax.jit retraces.
        return getattr(self._specialize(arrays), method)(**arrays)

    def _specialize(self, arrays):
        """Compile the function for the shapes (and float type) of this call's arrays."""
        example = {name: _like(arrays[name]) for name in self.inputs if name in arrays}
        call = (f"call {self._calls}: {self.__name__}("
                + ", ".join(f"{name}: {show(np.shape(value))}" for name, value in example.items()) + ")")
        try:
            compiled = compile(self.__wrapped__, wrt=self._wrt, example=example)
        except ShapeError as error:
            hinted = ShapeError(f"{error.message} (shapes from {call})", error.source, error.line, error.column)
            hinted.filename = error.filename
            raise hinted from None
        self.compiled, self._fixed_by = compiled, call
        return compiled

    @boundary
    def forward(self, /, *args, **kwargs):
        """The value, as the function computes it."""
        return self._call("forward", args, kwargs)

    __call__ = forward

    @boundary
    def value_and_grad(self, /, *args, **kwargs):
        """(value, {name: gradient})."""
        return self._call("value_and_grad", args, kwargs)

    @boundary
    def grad(self, /, *args, **kwargs):
        """{name: gradient}."""
        return self._call("grad", args, kwargs)

    @boundary
    def save(self, path):
        """Write the standalone module to `path` (after the first call, where the shapes come from the calls)."""
        self.source  # noqa: B018 - which says to call it first, where it has not been compiled yet
        return self.compiled.save(path)


def _like(value):
    """A stand-in for an argument with its shape and float type, for `example=`; what is not an array of real
    numbers stands as a scalar, for the compiled module's checks to refuse with their own message. A Dask array
    stands by its shape and dtype alone: its data stays on its cluster."""
    if cluster.is_dask(value):
        kind = np.dtype(value.dtype).kind
        return np.broadcast_to(np.zeros((), value.dtype if kind == "f" else np.float64), value.shape)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return 0.0
    if array.dtype.kind not in "fiub":
        return 0.0
    return np.broadcast_to(np.zeros((), array.dtype if array.dtype.kind == "f" else np.float64), array.shape)
