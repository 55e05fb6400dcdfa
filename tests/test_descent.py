"""The descent driver: convergence, schedules, minibatches, divergence, and the scipy adapter.

Most tests use small hand-written functions with the `value_and_grad(**arrays)` interface, because the
driver accepts any such object; `test_compiled_least_squares` runs it on a function gradc compiled.
"""
import io
import math
import time

import numpy as np
import pytest

import gradc

from gradc.optim.descent import DescentError, batches, minimize
from gradc.errors import GradcError
from gradc.optim.updates import Adam, Momentum
from gradc.optim.result import Progress
from gradc.optim.lr_schedules import Constant, Cosine, Polynomial, ScheduleError, StepDecay, parse_schedule
from gradc.optim.scipy_adapter import FlatObjective, scipy_minimize


class LeastSquares:
    """f(w, b) = 0.5 * sum((X @ w + b - y)**2), written by hand."""

    inputs = ("X", "w", "b", "y")

    def value_and_grad(self, X, w, b, y):
        r = X @ w + b - y
        return 0.5 * float(r @ r), {"w": X.T @ r, "b": float(np.sum(r))}


class Quartic:
    """f(x) = x**4 - 3*x**2 + x (+ shift*x: shift=1 makes x=1 stationary), the non-convex example."""

    def value_and_grad(self, x, shift=0.0):
        return x**4 - 3 * x**2 + x + shift * x, {"x": 4 * x**3 - 6 * x + 1 + shift * 1.0}


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.7 + 0.1 * rng.normal(size=40)
    design = np.column_stack([X, np.ones(40)])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    lr = 1.0 / np.linalg.eigvalsh(design.T @ design).max()  # 1/L: the safe constant step
    return {"X": X, "y": y}, {"w": np.zeros(3), "b": 0.0}, solution, lr


def close_to(params, solution, atol=1e-6):
    return np.allclose(np.append(params["w"], params["b"]), solution, rtol=0, atol=atol)


# --- convergence ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov"])
def test_reaches_lstsq_solution(problem, method):
    data, init, solution, lr = problem
    result = minimize(LeastSquares(), init, data, method=method, lr=lr, gtol=1e-9, max_iter=20000)
    assert result.converged and result.status == "gtol"
    assert close_to(result.params, solution)
    assert isinstance(result.params["b"], float) and result.params["w"].shape == (3,)


def test_lecture_stopping_rule_on_loss_change(problem):
    data, init, solution, lr = problem
    result = minimize(LeastSquares(), init, data, lr=lr, tol=1e-13, max_iter=50000)
    assert result.status == "tol" and "tol=1e-13" in result.reason
    assert abs(result.loss_history[-1] - result.loss_history[-2]) < 1e-13
    assert close_to(result.params, solution)


def test_adam_gets_close(problem):
    data, init, solution, _ = problem
    result = minimize(LeastSquares(), init, data, method=Adam(), lr=Cosine(0.1, 3000), max_iter=3000)
    assert result.converged and close_to(result.params, solution, atol=1e-4)  # the default gtol ended it


def test_a_run_given_no_threshold_stops_once_converged_and_says_so_when_not(problem):
    """Newton solves least squares in one step; before the default gtol it took all 1,000 updates."""
    data, init, solution, _ = problem
    fn = gradc.compile("0.5*sum((X@w - y)**2)", wrt="w", shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    newton = minimize(fn, {"w": init["w"]}, {"X": data["X"], "y": data["y"]}, method="newton")
    assert newton.converged and newton.n_iter == 1 and newton.status == "gtol"
    short = minimize(LeastSquares(), init, data, lr=1e-3, max_iter=5)
    assert not short.converged and "without converging: the gradient norm is" in short.reason
    at_minimum = minimize(Quartic(), {"x": 1.0}, data={"shift": 1.0}, lr=0.1)
    assert at_minimum.converged and at_minimum.n_iter == 0 and at_minimum.reason == "the gradient is 0"


def test_minibatch_sgd_on_exact_data_converges(rng):
    # With noise-free targets every minibatch shares the minimizer, so constant-step SGD converges to it.
    X = rng.normal(size=(64, 3))
    w_true = np.array([0.5, 1.5, -1.0])
    data = {"X": X, "y": X @ w_true + 0.25}
    result = minimize(LeastSquares(), {"w": np.zeros(3), "b": 0.0}, data, lr=0.02, batch_size=8,
                      epochs=300, tol=1e-24, seed=0)
    assert close_to(result.params, np.append(w_true, 0.25))
    assert len(result.loss_history) == len(result.grad_norm_history) > len(result.epoch_loss)


def test_histories_line_up(problem):
    data, init, _, lr = problem
    result = minimize(LeastSquares(), init, data, lr=lr, max_iter=7)
    assert result.status == "max_iter" and result.n_iter == 7 and not result.converged
    assert len(result.loss_history) == len(result.lr_history) == len(result.epoch_loss) == 7
    assert result.loss_history == result.epoch_loss
    assert all(a > b for a, b in zip(result.loss_history, result.loss_history[1:]))
    assert init["w"].tolist() == [0, 0, 0]  # the caller's arrays are untouched


def test_callback_sees_each_step_and_can_stop(problem):
    data, init, _, lr = problem
    seen = []
    result = minimize(LeastSquares(), init, data, lr=lr,
                      callback=lambda step: seen.append(step) or step.t == 4)
    assert [s.t for s in seen] == [0, 1, 2, 3, 4]
    assert result.status == "callback" and result.n_iter == 4
    assert seen[2].loss == result.loss_history[2] and seen[2].lr == lr


def test_momentum_update_rules():
    class Linear:  # f(x) = x, gradient 1 everywhere: the updates show the raw rules
        def value_and_grad(self, x):
            return x, {"x": 1.0}
    heavy = minimize(Linear(), {"x": 0.0}, method=Momentum(beta=0.5), lr=1.0, max_iter=3)
    nesterov = minimize(Linear(), {"x": 0.0}, method=Momentum(0.5, nesterov=True), lr=1.0, max_iter=3)
    assert heavy.params["x"] == -(1 + 1.5 + 1.75)  # v = 1, 1.5, 1.75
    assert nesterov.params["x"] == -(1.5 + 1.75 + 1.875)  # g + beta * v


# --- schedules -----------------------------------------------------------------------------------------

def test_polynomial_sequence():
    assert [Polynomial(2.0, 1.0)(t) for t in range(4)] == [2.0, 1.0, 2.0 / 3, 0.5]
    assert [Polynomial(1.0, 0.5)(t) for t in range(4)] == [1.0, 2**-0.5, 3**-0.5, 0.5]


def test_step_sequence():
    assert [StepDecay(1.0, 0.5, 3)(t) for t in range(8)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_cosine_and_constant_sequences():
    assert [Cosine(1.0, 4)(t) for t in range(6)] == pytest.approx([1, (1 + 0.5**0.5) / 2, 0.5,
                                                                    (1 - 0.5**0.5) / 2, 0, 0])
    assert [Cosine(1.0, 2, lr_min=0.2)(t) for t in range(3)] == pytest.approx([1.0, 0.6, 0.2])
    assert [Constant(0.3)(t) for t in range(3)] == [0.3, 0.3, 0.3]


@pytest.mark.parametrize("lr, expected", [
    (StepDecay(0.1, 0.5, 2), [0.1, 0.1, 0.05, 0.05, 0.025]),
    (Polynomial(0.1, 1.0), [0.1, 0.05, 0.1 / 3, 0.025, 0.02]),
    (lambda t: 0.01 * (t + 1), [0.01, 0.02, 0.03, 0.04, 0.05]),
])
def test_driver_applies_schedule(lr, expected):
    result = minimize(Quartic(), {"x": 1.0}, lr=lr, max_iter=5)
    assert result.lr_history == pytest.approx(expected, rel=1e-15)


def test_schedules_counted_per_update_across_minibatches():
    data = {"x0": np.zeros(10)}

    class Flat:
        def value_and_grad(self, x, x0):
            return 0.0, {"x": 0.0}
    result = minimize(Flat(), {"x": 0.0}, data, lr=StepDecay(1.0, 0.5, 3), batch_size=4, epochs=2)
    assert result.lr_history == [1, 1, 1, 0.5, 0.5, 0.5] and len(result.epoch_loss) == 2


def test_parse_schedule():
    assert parse_schedule("0.5")(9) == 0.5
    assert repr(parse_schedule("step:1,0.5,10")) == "StepDecay(c0=1.0, c=0.5, T=10)"
    assert parse_schedule("polynomial:1,2")(1) == 0.25
    for bad in ["fast:1", "step:1,2,3", "step:1,0.5", "polynomial:1,x", "-1"]:
        with pytest.raises(ScheduleError):
            parse_schedule(bad)


# --- minibatches ---------------------------------------------------------------------------------------

class Recorder:
    """Records every batch it is given; its loss and gradient are zero."""

    def __init__(self):
        self.seen = []

    def value_and_grad(self, u, X, y):
        self.seen.append((X.copy(), y.copy()))
        return 0.0, {"u": 0.0}


def shuffled_run(seed, epochs=3):
    n = 10
    X = np.arange(n * 2 * 2, dtype=float).reshape(n, 2, 2)  # row i holds 4i .. 4i+3
    y = np.arange(n)
    recorder = Recorder()
    minimize(recorder, {"u": 0.0}, {"X": X, "y": y}, batch_size=4, epochs=epochs, seed=seed)
    return recorder.seen


def test_shuffling_keeps_rows_paired_and_covers_each_epoch():
    seen = shuffled_run(seed=1)
    assert [len(y) for _, y in seen] == [4, 4, 2] * 3
    for X, y in seen:
        assert np.array_equal(X[:, 0, 0], 4 * y)  # each feature row still sits beside its label
    orders = [np.concatenate([y for _, y in seen[i:i + 3]]) for i in (0, 3, 6)]
    for order in orders:
        assert sorted(order) == list(range(10))
    assert not np.array_equal(orders[0], orders[1])  # reshuffled every epoch


def test_shuffling_is_reproducible_with_seed():
    same = [y for _, y in shuffled_run(seed=7)], [y for _, y in shuffled_run(seed=7)]
    other = [y for _, y in shuffled_run(seed=8)]
    assert all(np.array_equal(a, b) for a, b in zip(*same))
    assert not all(np.array_equal(a, b) for a, b in zip(same[0], other))


def test_batches_without_shuffle_are_in_order():
    stream = batches({"a": np.arange(5)}, 2, np.random.default_rng(0), shuffle=False)
    got = [next(stream) for _ in range(4)]
    assert [(e, b["a"].tolist(), last) for e, b, last in got] == [
        (0, [0, 1], False), (0, [2, 3], False), (0, [4], True), (1, [0, 1], False)]


# --- divergence ----------------------------------------------------------------------------------------

def test_divergence_keeps_last_finite_params():
    result = minimize(Quartic(), {"x": 3.0}, lr=0.1, max_iter=100)
    assert result.diverged and not result.converged
    step, lr = result.divergence["step"], result.divergence["lr"]
    assert f"step {step}" in result.reason and "lr=0.1" in result.reason and lr == 0.1
    assert math.isfinite(result.params["x"]) and all(map(math.isfinite, result.loss_history))
    assert len(result.loss_history) == step and result.n_iter == step
    # The kept params are the ones of the last finite loss.
    assert Quartic().value_and_grad(result.params["x"])[0] == result.loss_history[-1]


def test_nan_gradient_is_divergence():
    class NanAfterThree:
        def __init__(self):
            self.calls = 0

        def value_and_grad(self, w):
            self.calls += 1
            g = np.ones(2) if self.calls < 4 else np.array([1.0, np.nan])
            return float(w @ w), {"w": g}
    result = minimize(NanAfterThree(), {"w": np.zeros(2)}, lr=0.5)
    assert result.status == "diverged" and result.divergence["nonfinite"] == ["w"]
    assert "gradient of w is not finite" in result.reason
    assert result.params["w"].tolist() == [-1.0, -1.0]  # two finite updates, the third rejected


def test_nonfinite_start_is_an_error():
    # Divergence keeps the last finite params; a start at inf would leave none to keep.
    with pytest.raises(DescentError, match="initial value of 'x' is not finite"):
        minimize(Quartic(), {"x": np.inf}, lr=0.1)


def test_nonfinite_loss_at_the_start_is_reported():
    class Infinite:
        def value_and_grad(self, x):
            return np.inf, {"x": 1.0}
    result = minimize(Infinite(), {"x": 0.0}, lr=0.1)
    assert result.diverged and "initial params" in result.reason and result.n_iter == 0
    assert result.params == {"x": 0.0}


# --- errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(method="sgd"), "unknown method 'sgd'"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(lr="fast"), "lr must be a number"),
])
def test_bad_arguments(problem, kwargs, message):
    data, init, _, _ = problem
    with pytest.raises(GradcError, match=message):
        minimize(LeastSquares(), init, data, **kwargs)


def test_data_and_inputs_are_checked(problem):
    data, init, _, _ = problem
    with pytest.raises(DescentError, match="missing y"):
        minimize(LeastSquares(), init, {"X": data["X"]})
    with pytest.raises(DescentError, match="same number of rows"):
        minimize(LeastSquares(), init, {"X": data["X"], "y": data["y"][:5]}, batch_size=5)
    with pytest.raises(DescentError, match="no gradient for 'y'"):
        minimize(LeastSquares(), {**init, "y": data["y"]}, {"X": data["X"]})


def test_loss_must_be_scalar():
    class Vector:
        def value_and_grad(self, w):
            return w, {"w": np.ones_like(w)}
    with pytest.raises(DescentError, match=r"scalar loss.*\(3,\)"):
        minimize(Vector(), {"w": np.zeros(3)})


# --- scipy adapter -------------------------------------------------------------------------------------

def test_scipy_adapter_agrees_with_driver(problem):
    data, init, solution, lr = problem
    ours = minimize(LeastSquares(), init, data, lr=lr, gtol=1e-9, max_iter=20000)
    theirs, info = scipy_minimize(LeastSquares(), init, data, method="BFGS", options={"gtol": 1e-8})
    # NOTE: near the optimum scipy may report "precision loss"; the agreement below is what matters.
    assert info.nit > 0 and set(theirs) == {"w", "b"}
    assert np.allclose(theirs["w"], ours.params["w"], atol=1e-6)
    assert abs(theirs["b"] - ours.params["b"]) < 1e-6 and close_to(theirs, solution)


def test_flat_objective_round_trip():
    params = {"A": np.arange(6.0).reshape(2, 3), "s": 2.5, "v": np.array([7.0])}
    objective = FlatObjective(LeastSquares(), params)
    back = objective.unpack(objective.x0)
    assert objective.x0.tolist() == [0, 1, 2, 3, 4, 5, 2.5, 7]
    assert back["A"].shape == (2, 3) and back["s"] == 2.5 and back["v"].shape == (1,)
    with pytest.raises(GradcError, match="vector of 8 values"):
        objective.unpack(np.zeros(3))


# --- reporting -----------------------------------------------------------------------------------------

def test_progress_is_quiet_off_a_terminal():
    stream = io.StringIO()
    with Progress(100, stream=stream) as bar:
        bar.update(50, 1.0)
    assert stream.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_with_tqdm_only_once_a_run_takes_a_while():
    stream = Terminal()
    with Progress(None, stream=stream) as bar:
        bar.update(1, 2.0)  # too early: short runs stay quiet
        assert stream.getvalue() == ""
        time.sleep(Progress.DELAY_S + 0.1)
        bar.update(7, 2.0)
        assert stream.getvalue().startswith("\r7step [00:01") and "loss 2.000e+00]" in stream.getvalue()
    assert stream.getvalue().endswith("\r")  # closed: the line is cleared
    forced = Terminal()
    with Progress(10, enabled=True, stream=forced) as bar:
        time.sleep(Progress.DELAY_S + 0.1)
        bar.update(5, 0.5)
    assert "5/10" in forced.getvalue()
    assert stream.getvalue().endswith("\r")


def test_plot_saves_a_file(tmp_path, problem):
    pytest.importorskip("matplotlib")
    data, init, _, lr = problem
    result = minimize(LeastSquares(), init, data, lr=lr, max_iter=20)
    path = result.plot(tmp_path / "loss.png")
    assert path.stat().st_size > 1000


# --- with gradc's own functions ------------------------------------------------------------------------

def test_compiled_least_squares(problem, tmp_path):
    gradc = pytest.importorskip("gradc")
    data, init, solution, lr = problem
    fn = gradc.compile("0.5 * sum((X @ w + b - y)**2)", wrt=("w", "b"),
                       shapes={"X": ("n", "d"), "w": ("d",), "y": ("n",)})
    result = minimize(fn, init, data, method="nesterov", lr=lr, gtol=1e-9, max_iter=20000)
    assert result.converged and close_to(result.params, solution)
    # A module gradc wrote works too: it is just another object with value_and_grad.
    import importlib.util
    spec = importlib.util.spec_from_file_location("lsq_module", fn.save(tmp_path / "lsq_module.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    again = minimize(module, init, data, method="nesterov", lr=lr, gtol=1e-9, max_iter=20000)
    assert again.loss_history == result.loss_history and close_to(again.params, solution)
