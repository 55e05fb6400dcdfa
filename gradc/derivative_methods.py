"""A CompiledFunction's derivatives beyond the gradient: jvp, vjp, jacobian, hvp and hessian.

Each runs a generated function (see `gradc.backend.numpy.emit_derived`): the module's own when it was compiled with
`emit=`, otherwise a variant of the module compiled the first time the derivative is asked for. Each method returns
what the generated function of its name returns, in the shapes JAX gives its results:

    fn.jvp(tangents, ...)    (value, Df[tangents])             as jax.jvp: (primal_out, tangent_out)
    fn.vjp(cotangent, ...)   (value, {name: cotangent})        as jax.vjp's primal_out and its pullback's result
    fn.jacobian(...)         {name: df/dname}                  as jax.jacobian(f, argnums=wrt)
    fn.hvp(vectors, ...)     {name: (H @ vectors)[name]}       as the JAX cookbook's hvp: jvp(grad(f), ...)[1]
    fn.hessian(...)          {a: {b: d2f/da db}}               as jax.hessian: nested, one block per pair

The inputs go positionally in `fn.inputs` order or by keyword, after the tangents, cotangent or vectors.
"""
import functools
import math
from collections.abc import Mapping

import numpy as np

from gradc.backend.numpy.emit_derived import derive
from gradc.backend.load import load_module
from gradc.pipeline import EMITTERS
from gradc.transform.derivatives import check_kinds
from gradc.backend.numpy.prologue import real
from gradc.errors import DifferentiationError, GradcError, ShapeError


def boundary(function):
    """The edge of the API: a GradcError leaves `function` with the frames it was raised through dropped, so
    that its traceback ends at the user's call (the message says where in the source it points)."""
    @functools.wraps(function)
    def api(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except GradcError as error:
            raise error.with_traceback(None) from error.__cause__
    return api


def bind(inputs, name, args, arrays):
    """The keyword arrays with the positional `args` added, in `inputs` order: `fn(X, w, y)` as `fn(X=X, ...)`."""
    if not args:
        return arrays
    if len(args) > len(inputs):
        raise GradcError(f"{name} takes {len(inputs)} inputs ({', '.join(inputs) or 'none'}), "
                         f"got {len(args)} positional arguments")
    arrays = dict(arrays)
    for input_name, value in zip(inputs, args):
        if input_name in arrays:
            raise GradcError(f"{name} got {input_name} twice, by position and by keyword")
        arrays[input_name] = value
    return arrays


class Derivatives:
    """Mixin for CompiledFunction, which provides `stages`, `module`, `inputs`, `wrt`, `forward` and `_explain`.

    `self` is positional-only in every method, so that an input may be named `self` too; so are the tangents,
    cotangent and vectors, so that an input may be named `tangents`.
    """

    @boundary
    def jvp(self, tangents, /, *args, **arrays):
        """(value, Df[tangents]), as `jax.jvp` returns (primal_out, tangent_out): the derivative along
        `tangents`, a dict name -> array (names left out stay fixed), shaped like the output.

        `q.jvp({"x": v}, x, A)` or `q.jvp({"x": v}, x=x, A=A)`.
        """
        arrays = self._arguments(args, arrays)
        return self._run("jvp", arrays, self._directions(tangents, arrays, "tangent"))

    @boundary
    def vjp(self, cotangent, /, *args, **arrays):
        """(value, {name: gradient of sum(cotangent * f)}), `cotangent` shaped like the output f: `jax.vjp`'s
        primal_out, and what its pullback returns for `cotangent` (as a dict over wrt).

        With a cotangent of ones it is (value, gradient of sum(f)); `fn.vjp(ct, z)[1]["z"]` is ct @ J.
        """
        arrays = self._arguments(args, arrays)
        cotangent = self._real(cotangent, "the cotangent")
        expected = self._output_shape(arrays)
        if tuple(np.shape(cotangent)) != expected:
            raise ShapeError(f"the cotangent has shape {tuple(np.shape(cotangent))}; the output has shape {expected}")
        return self._run("vjp", arrays, cotangent)

    @boundary
    def jacobian(self, /, *args, **arrays):
        """{name: df/dname} for each name in wrt, each shaped the output's shape + the input's shape (as
        `jax.jacobian(f, argnums=...)`); no value beside it.

        Row by row by the module's `jacobian` (one backward pass per output element), or column by column
        from jvp (one per input element) when that needs fewer passes and the arrays are NumPy's (the
        array-api backend's blocks come row by row, in the inputs' namespace).
        """
        arrays = self._arguments(args, arrays)
        shape = tuple(np.shape(self.forward(**arrays)))  # which also checks the arrays
        if self.stages.backend != "numpy" or math.prod(shape) <= sum(math.prod(np.shape(arrays[name]))
                                                                     for name in self.wrt):
            return self._run("jacobian", arrays)
        columns = {name: np.zeros(shape + np.shape(arrays[name])) for name in self.wrt}
        for name in self.wrt:
            for index in np.ndindex(np.shape(arrays[name])):
                columns[name][(...,) + index] = self.jvp({name: _basis(np.shape(arrays[name]), index)}, **arrays)[1]
        return columns

    @boundary
    def hvp(self, vectors, /, *args, **arrays):
        """{name: (H @ vectors)[name]}: the Hessian times one direction per name (a dict; names left out are
        zero), by forward mode over the gradient. Only the product, as the JAX cookbook's
        `hvp(f, x, v) = jvp(grad(f), x, v)[1]` and the module's own `hvp`; `value_and_grad` gives the rest.
        """
        arrays = self._arguments(args, arrays)
        return self._run("hvp", arrays, self._directions(vectors, arrays, "vector"))

    @boundary
    def hessian(self, /, *args, **arrays):
        """{a: {b: d2f/da db}} for a, b in wrt, each block shaped a's shape + b's shape: nested as
        `jax.hessian(f, argnums=...)` nests its blocks; `q.hessian(x, A)["x"]["x"]`."""
        arrays = self._arguments(args, arrays)
        return self._run("hessian", arrays)

    def _arguments(self, args, arrays):
        return bind(self.inputs, self.__name__, args, arrays)

    def _real(self, value, what):
        """`value` as real NumPy numbers; as given on the array-api backend, whose module checks it in the
        inputs' namespace (a tensor on a GPU stays there)."""
        return real(value, what) if self.stages.backend == "numpy" else value

    @boundary
    def source_with(self, emit):
        """The module's text with the functions named in `emit` added (see `gradc.transform.derivatives.KINDS`)."""
        kinds = check_kinds(emit)
        if "value_and_grad" in kinds and self.wrt and not hasattr(self.module, "value_and_grad"):
            raise DifferentiationError("value_and_grad needs a scalar output; use vjp or jacobian for this one")
        extra = tuple(kind for kind in kinds if kind != "value_and_grad")
        if not extra:
            return self.source
        stages = self.stages
        return EMITTERS[stages.backend](stages.final, stages.wrt, f"{stages.command} --emit {','.join(kinds)}",
                                        derive(stages.simplified, stages.wrt, extra), dtype=self.dtype,
                                        readable=stages.readable, forward=stages.forward)

    def _run(self, kind, arrays, *first):
        function = self._derived(kind)
        try:
            return function(*first, **arrays)
        except (TypeError, ValueError) as error:
            raise self._explain(error, arrays) from None

    def _derived(self, kind):
        """The generated function `kind`, from this module or a variant compiled (once) with it."""
        if hasattr(self.module, kind):
            return getattr(self.module, kind)
        cache = self.__dict__.setdefault("_variants", {})
        if kind not in cache:
            cache[kind] = getattr(load_module(self.source_with((kind,))), kind)
        return cache[kind]

    def _directions(self, given, arrays, what):
        """One array per name in wrt: those `given`, zeros like the input for the rest."""
        if not isinstance(given, Mapping):
            raise GradcError(f"the {what}s are a dict, input name -> array (wrt: {', '.join(self.wrt)}), "
                             f"not {type(given).__name__}")
        unknown = [name for name in given if name not in self.wrt]
        if unknown:
            raise GradcError(f"{what} for {', '.join(map(str, unknown))}: not differentiated "
                             f"(wrt: {', '.join(self.wrt)})")
        given = {name: self._real(value, f"the {what} for {name}") for name, value in given.items()}
        for name, value in given.items():
            if name in arrays and tuple(np.shape(value)) != tuple(np.shape(arrays[name])):
                raise ShapeError(f"the {what} for {name} has shape {tuple(np.shape(value))}; "
                                 f"{name} has shape {tuple(np.shape(arrays[name]))}")
        return {name: given[name] if name in given else _zeros_like(arrays.get(name, 0.0)) for name in self.wrt}

    def _output_shape(self, arrays):
        """The output's shape at `arrays`, from its declared dims and the sizes the inputs bind."""
        graph = self.stages.simplified
        sizes = {}
        for name, node in graph.inputs.items():
            if name in arrays:
                sizes.update(zip(graph.shape(node), np.shape(arrays[name])))
        return tuple(sizes.get(dim, dim) for dim in graph.shape(graph.outputs[0]))


def _basis(shape, index):
    """The one-hot array of `shape` with a 1 at `index` (a float for a scalar)."""
    if shape == ():
        return 1.0
    e = np.zeros(shape)
    e[index] = 1.0
    return e


def _zeros_like(value):
    return np.zeros(np.shape(value)) if np.shape(value) else 0.0
