"""Gradient descent driver: minimizes anything with `value_and_grad(**arrays)`.

That includes a function from `gradc.compile` and a module gradc wrote. Parameters are updated by a
method (plain gradient descent, heavy-ball momentum, Nesterov, Adam) with a learning rate that may follow
a schedule; data arrays are fed whole (batch gradient descent) or as reshuffled minibatches (SGD).
Row-chunked Dask arrays as data stay on their cluster: each step runs there (see gradc.cluster), and a
minibatch is a draw of whole chunks.

>>> class Parabola:  # f(x) = (x - 3)**2
...     def value_and_grad(self, x):
...         return (x - 3.0) ** 2, {"x": 2.0 * (x - 3.0)}
>>> result = minimize(Parabola(), {"x": 0.0}, lr=0.25, tol=1e-12)
>>> round(result.params["x"], 6), result.converged
(3.0, True)
"""
import math
import numbers
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from gradc.cluster.chunks import chunk_batches, is_dask
from gradc.errors import GradcError
from gradc.optim.updates import get_method
from gradc.optim.newton import NewtonStep
from gradc.optim.result import Progress, Result
from gradc.optim.lr_schedules import as_schedule, rate_at

__all__ = ["minimize", "Result", "Step", "DescentError", "batches"]

DEFAULT_MAX_ITER = 1000
# With no tol and no gtol, a full-batch run has converged once the gradient norm is this fraction of its first
# value (or exactly 0): Newton on least squares stops after its one step instead of taking 999 more. Minibatch
# gradients are noisy, so there only tol (on epoch losses) or the step budget ends a run.
DEFAULT_GTOL_RATIO = 1e-10

Step = namedtuple("Step", "t epoch loss grad_norm lr params")
Step.__doc__ = """What a callback sees before update t: the loss and gradient norm at `params`, and the lr to apply."""


class DescentError(GradcError):
    """The driver was given parameters, data or a function it cannot use."""


def minimize(fn, params, data=None, *, method="gd", lr=None, batch_size=None, epochs=None,
             max_iter=None, tol=None, gtol=None, seed=None, shuffle=True, callback=None, progress=None):
    """Minimizes `fn` over `params`, holding `data` fixed.

    Each step evaluates `fn.value_and_grad(**params, **batch)` and applies one update. The run stops when
    the change of the loss between epochs drops below `tol` (the lecture's rule; with full batches an epoch
    is one step), when the gradient norm drops below `gtol` (given neither, below DEFAULT_GTOL_RATIO times
    its first value, with full batches), after `max_iter` updates or `epochs` passes, when `callback` returns True, or when the
    loss or a gradient stops being finite (divergence).

    Args:
        fn: any object with `value_and_grad(**arrays) -> (loss, {name: gradient})`.
        params: {name: initial value}; copied, never modified.
        data: {name: array} passed unchanged to every step, or sliced along the first axis into batches.
        method: "gd", "momentum" (heavy ball), "nesterov", "adam", or an instance from `gradc.optim.updates`;
            or "newton", steps along H⁻¹g for fns with a `hessian` and a few parameters (see `gradc.optim.newton`;
            the gradient norms it records are those of the steps).
        lr: a number or a schedule `t -> lr` (see `gradc.optim.lr_schedules`), t counting updates from 0; default
            0.01, and 1 (the full Newton step) for newton.
        batch_size: rows per minibatch; None uses all the data each step.
        seed: seeds the per-epoch shuffle, so a run can be repeated exactly.
        callback: called with a `Step` before each update; returning True stops the run.
        progress: True or False forces the stderr progress bar; None shows it on a terminal for long runs.

    Returns:
        A `Result`. On divergence its params are the last ones that, with their loss and gradient, were finite.

    Raises:
        DescentError (or another GradcError) for unusable arguments, before any step is taken.
    """
    params = _copy_params(params)
    max_iter, epochs = _whole("max_iter", max_iter, 0), _whole("epochs", epochs, 0)
    batch_size = _whole("batch_size", batch_size, 1)
    tol, gtol = _threshold("tol", tol), _threshold("gtol", gtol)
    _check_hooks(callback, progress)
    data = _check_data(fn, params, data, batch_size)
    if method == "newton":
        fn, method = NewtonStep(fn, params), "gd"
        lr = 1.0 if lr is None else lr
    optimizer, schedule = get_method(method), as_schedule(0.01 if lr is None else lr)
    if max_iter is None and epochs is None:
        max_iter = DEFAULT_MAX_ITER
    run = _Run(params)
    stream = batches(data, batch_size, _generator(seed), shuffle)
    bar = Progress(_total_steps(data, batch_size, epochs, max_iter), enabled=progress)
    with bar:
        for t, (epoch, batch, epoch_done) in enumerate(stream):
            if max_iter is not None and t >= max_iter:
                run.stop("max_iter", f"reached max_iter={max_iter} updates" + run.unconverged(gtol))
                break
            if epochs is not None and epoch >= epochs:
                run.stop("epochs", f"completed {epochs} epochs" + run.unconverged(gtol))
                break
            if _params_diverged(run, t):
                break
            loss, grads = _evaluate(fn, run.params, batch)
            if _diverged(run, t, loss, grads):
                break
            grad_norm = _global_norm([grads[name] for name in run.params])
            if t == 0 and tol is None and gtol is None and batch_size is None:
                gtol = _default_gtol(grad_norm)
            run.record(loss, grad_norm)
            if _should_stop(run, epoch_done, tol, gtol, grad_norm):
                break
            lr_t = rate_at(schedule, t)
            if callback is not None and callback(Step(t, epoch, loss, grad_norm, lr_t, _tidy(run.params))):
                run.stop("callback", f"callback asked to stop before update {t}")
                break
            with np.errstate(over="ignore", invalid="ignore"):  # an overflowing update is reported as divergence
                run.update(optimizer.update_all(run.params, grads, lr_t), lr_t)
            bar.update(t + 1, loss)
    return run.result()


def batches(data, batch_size, rng, shuffle=True):
    """Yields (epoch, batch, last_of_epoch) forever.

    With a batch size, every epoch draws a new permutation and applies it to every array, so the rows of
    features and labels stay paired. The last batch of an epoch may be smaller.
    """
    for epoch in _count():
        if batch_size is None:
            yield epoch, data, True
            continue
        n = len(_first(data))
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            yield epoch, {name: array[rows] for name, array in data.items()}, start + batch_size >= n


class _Run:
    """The histories and parameters of one run, and why it stopped."""

    def __init__(self, params):
        self.params, self.previous = params, params
        self.losses, self.grad_norms, self.lrs, self.epoch_loss = [], [], [], []
        self._epoch_losses = []
        self.status, self.reason, self.divergence = None, None, None

    def record(self, loss, grad_norm):
        self.losses.append(float(loss))
        self.grad_norms.append(grad_norm)
        self._epoch_losses.append(float(loss))

    def end_epoch(self):
        # NOTE: an epoch's loss averages its minibatch losses, each taken at different parameters.
        self.epoch_loss.append(float(np.mean(self._epoch_losses)))
        self._epoch_losses = []

    def update(self, new_params, lr):
        self.previous, self.params = self.params, new_params
        self.lrs.append(lr)

    def stop(self, status, reason):
        self.status, self.reason = status, reason

    def unconverged(self, gtol):
        """Why a run that ran out of steps has not converged, for its reason."""
        if not self.grad_norms:
            return ""
        said = f" without converging: the gradient norm is {self.grad_norms[-1]:.3g}"
        said += f", from {self.grad_norms[0]:.3g} at the start" if len(self.grad_norms) > 1 else ""
        return said + (f" (gtol={gtol:.3g})" if gtol is not None else "")

    def result(self):
        if self.status is None:  # unreachable: batches() never ends
            self.stop("max_iter", "stopped")
        return Result(params=_tidy(self.params), loss_history=self.losses, epoch_loss=self.epoch_loss,
                      grad_norm_history=self.grad_norms, lr_history=self.lrs, n_iter=len(self.lrs),
                      reason=self.reason, status=self.status, divergence=self.divergence)


def _default_gtol(first_norm):
    """The gtol of a run given no threshold: a fraction of the first gradient norm (0 stops at once)."""
    return DEFAULT_GTOL_RATIO * first_norm if first_norm > 0 else math.inf


def _should_stop(run, epoch_done, tol, gtol, grad_norm):
    if gtol is not None and (grad_norm < gtol or grad_norm == 0):
        run.stop("gtol", f"gradient norm {grad_norm:.3g} < gtol={gtol:.3g}" if grad_norm else "the gradient is 0")
        return True
    if not epoch_done:
        return False
    run.end_epoch()
    if tol is not None and len(run.epoch_loss) >= 2:
        change = abs(run.epoch_loss[-1] - run.epoch_loss[-2])
        if change < tol:
            run.stop("tol", f"loss changed by {change:.3g} < tol={tol:g}")
            return True
    return False


def _params_diverged(run, t):
    """Stops the run when the last update made a parameter inf or nan, though its loss and gradient may be finite.

    (A huge lr can send a parameter to -inf where the loss is flat: exp(w) is 0 there, with gradient 0.)
    """
    bad = [name for name, value in run.params.items() if not np.all(np.isfinite(value))]
    return bool(bad) and _diverge(run, t, f"parameter {', '.join(bad)} is not finite", bad, None)


def _diverged(run, t, loss, grads):
    """Stops the run at a non-finite loss or gradient, going back to the last finite params."""
    if not np.isfinite(loss):
        return _diverge(run, t, f"loss is {loss!r}", ["loss"], loss)
    bad = [name for name in run.params if not np.all(np.isfinite(grads[name]))]
    return bool(bad) and _diverge(run, t, f"gradient of {', '.join(bad)} is not finite", bad, loss)


def _diverge(run, t, what, bad, loss):
    """Ends the run with the params of step t - 1: they, their loss and their gradient were all finite."""
    lr = run.lrs[-1] if run.lrs else None
    where = f"at step {t} with lr={lr:g}" if lr is not None else "at the initial params"
    run.divergence = {"step": t, "lr": lr, "loss": None if loss is None else float(loss), "nonfinite": bad}
    run.params = run.previous
    run.stop("diverged", f"diverged {where}: {what}; kept the params of step {max(t - 1, 0)}")
    return True


def _evaluate(fn, params, batch):
    # Overflow is how divergence shows itself; _diverged reports it, so numpy need not warn as well.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, grads = fn.value_and_grad(**params, **batch)
    if np.ndim(loss) != 0:
        raise DescentError(f"fn must return a scalar loss to minimize, got shape {np.shape(loss)}")
    missing = [name for name in params if name not in grads]
    if missing:
        raise DescentError(f"fn gives no gradient for {', '.join(map(repr, missing))}; "
                           "compile it with wrt= including every parameter")
    for name, value in params.items():
        if np.shape(grads[name]) != np.shape(value):
            raise DescentError(f"gradient of {name!r} has shape {np.shape(grads[name])}, "
                               f"but the parameter has shape {np.shape(value)}")
    return float(loss), grads


def _global_norm(arrays):
    """The 2-norm of all arrays together, scaled first so that huge finite gradients do not overflow."""
    scale = max(float(np.max(np.abs(a), initial=0.0)) for a in arrays)
    if scale == 0.0:
        return 0.0
    return scale * math.sqrt(sum(float(np.sum(np.square(np.divide(a, scale)))) for a in arrays))


def _copy_params(params):
    """Float64 copies of the initial params, which must be finite real numbers."""
    if not isinstance(params, Mapping) or not params:
        raise DescentError(f"minimize needs a dict of at least one parameter to optimize, got {params!r:.80}")
    copies = {name: np.array(_real_array("parameter", name, value), dtype=np.float64)
              for name, value in params.items()}
    bad = [name for name, value in copies.items() if not np.all(np.isfinite(value))]
    if bad:  # divergence keeps the last finite params; there would be none
        raise DescentError(f"the initial value of {', '.join(map(repr, bad))} is not finite")
    return copies


def _real_array(kind, name, value):
    """`value` as an array of real numbers: strings, complex numbers, None and objects are refused."""
    if not isinstance(name, str):
        raise DescentError(f"{kind} names must be strings, got {name!r}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # a ragged list
        raise DescentError(f"{kind} {name!r} is not an array: {error}") from None
    if array.dtype.kind not in "fiub":  # float, int, unsigned, bool
        raise DescentError(f"{kind} {name!r} has dtype {array.dtype}: minimize takes real numbers")
    return array


def _dask_array(name, value):
    """A Dask array of real numbers, checked by its dtype alone: its data stays where it is."""
    if np.dtype(value.dtype).kind not in "fiub":
        raise DescentError(f"data {name!r} has dtype {value.dtype}: minimize takes real numbers")
    return value


def _whole(name, value, minimum):
    """None, or a whole number >= minimum as an int (5.0 counts; True, 2.5, nan, inf and "5" do not)."""
    if value is None:
        return None
    whole = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
             and value == int(value) and value >= minimum)
    if not whole:
        raise DescentError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _threshold(name, value):
    """None, or a finite number >= 0 (a nan threshold would never stop a run; a negative one neither)."""
    if value is None:
        return None
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < math.inf):
        raise DescentError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_hooks(callback, progress):
    if callback is not None and not callable(callback):
        raise DescentError(f"callback must be callable, got {callback!r}")
    if progress not in (None, True, False):
        raise DescentError(f"progress must be True, False or None, got {progress!r}")


def _generator(seed):
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise DescentError(f"seed must be None or a whole number >= 0, got {seed!r}") from None


def _check_data(fn, params, data, batch_size):
    if data is not None and not isinstance(data, Mapping):
        raise DescentError(f"data must be a dict of arrays, got {data!r:.80}")
    data = {name: _dask_array(name, value) if is_dask(value) else _real_array("data", name, value)
            for name, value in (data or {}).items()}
    both = sorted(set(params) & set(data))
    if both:
        raise DescentError(f"{', '.join(map(repr, both))} given both as parameter and as data")
    inputs = getattr(fn, "inputs", None) or getattr(fn, "INPUTS", None)
    if inputs is not None:
        missing = [name for name in inputs if name not in params and name not in data]
        extra = [name for name in list(params) + list(data) if name not in inputs]
        if missing or extra:
            raise DescentError(f"fn takes inputs {', '.join(inputs)}; "
                               + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(extra)}"))
    if batch_size is not None:
        _check_batching(data, batch_size)
    return data


def _check_batching(data, batch_size):
    if not data:
        raise DescentError("batch_size needs data arrays to split into minibatches")
    rows = {name: (array.shape[0] if array.ndim else None) for name, array in data.items()}
    if len(set(rows.values())) != 1 or None in rows.values():
        listing = ", ".join(f"{name}: {n}" for name, n in rows.items())
        raise DescentError(f"minibatches need data arrays with the same number of rows ({listing})")


def _total_steps(data, batch_size, epochs, max_iter):
    per_epoch = 1 if batch_size is None else -(-len(_first(data)) // batch_size)
    if batch_size is not None and is_dask(_first(data)):  # whole chunks per batch (see chunk_batches)
        chunks = _first(data).chunks[0]
        per_epoch = -(-len(chunks) // max(1, round(batch_size / chunks[0])))
    limits = [n for n in (max_iter, epochs and epochs * per_epoch) if n is not None]
    return min(limits) if limits else None


def _tidy(params):
    """Scalars come back as floats, arrays as float64 arrays."""
    return {name: float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)
            for name, value in params.items()}


def _first(data):
    return next(iter(data.values()))


def _count():
    epoch = 0
    while True:
        yield epoch
        epoch += 1
