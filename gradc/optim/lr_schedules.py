"""Learning-rate schedules: step index t (0-based) -> learning rate.

The lecture's annealing schemes, plus cosine. A schedule is any callable `t -> float`; these classes add a
readable repr so that a Result and the CLI can say which schedule ran.

>>> [round(Polynomial(1.0, 0.5)(t), 4) for t in range(4)]
[1.0, 0.7071, 0.5774, 0.5]
>>> [StepDecay(0.8, 0.5, 2)(t) for t in range(5)]
[0.8, 0.8, 0.4, 0.4, 0.2]
"""
import math

import numpy as np

from gradc.errors import GradcError


class ScheduleError(GradcError):
    """A schedule was given parameters outside its range."""


class LearningRate:
    """Base class: subclasses define `__call__(t)` and keep their parameters as attributes for the repr."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(LearningRate):
    """lr(t) = c0."""

    def __init__(self, c0):
        self.c0 = _positive("c0", c0)

    def __call__(self, t):
        return self.c0


class Polynomial(LearningRate):
    """lr(t) = c0 * (t + 1) ** -alpha, alpha > 0 (the lecture's polynomial decrease)."""

    def __init__(self, c0, alpha):
        self.c0 = _positive("c0", c0)
        self.alpha = _positive("alpha", alpha)

    def __call__(self, t):
        return self.c0 * (t + 1) ** -self.alpha


class StepDecay(LearningRate):
    """lr(t) = c0 * c ** floor(t / T), c in (0, 1) (the lecture's "by a factor every T iterations")."""

    def __init__(self, c0, c, T):
        self.c0 = _positive("c0", c0)
        self.c = _real("c", c)
        if not 0 < self.c < 1:
            raise ScheduleError(f"step schedule needs 0 < c < 1, got c={c!r}")
        self.T = _period("step", T)

    def __call__(self, t):
        return self.c0 * self.c ** (t // self.T)


class Cosine(LearningRate):
    """lr(t) = lr_min + (c0 - lr_min) * (1 + cos(pi * t / T)) / 2 for t < T, then lr_min."""

    def __init__(self, c0, T, lr_min=0.0):
        self.c0 = _positive("c0", c0)
        self.T = _period("cosine", T)
        self.lr_min = _real("lr_min", lr_min)
        if not 0 <= self.lr_min <= self.c0:
            raise ScheduleError(f"cosine schedule needs 0 <= lr_min <= c0, got lr_min={lr_min!r}")

    def __call__(self, t):
        if t >= self.T:
            return self.lr_min
        return self.lr_min + (self.c0 - self.lr_min) * (1 + math.cos(math.pi * t / self.T)) / 2


def as_schedule(lr):
    """A number becomes `Constant(lr)`; a callable is used as it is."""
    if callable(lr):
        return lr
    try:
        return Constant(float(lr))
    except (TypeError, ValueError):
        raise ScheduleError(f"lr must be a number or a callable t -> lr, got {lr!r}") from None


def rate_at(schedule, t):
    """The learning rate `schedule` gives for update t, which must be a finite number >= 0.

    A callable is the user's own code: what it returns is checked here, so that a string or a nan makes
    one clear error instead of a TypeError inside an update, or parameters that quietly turn to nan.
    """
    value = schedule(t)
    try:
        lr = float(value) if np.ndim(value) == 0 else math.nan  # float() of a 1-element array is deprecated
    except (TypeError, ValueError):  # a string, None, a complex number, a ragged list
        lr = math.nan
    if not 0 <= lr < math.inf:
        raise ScheduleError(f"lr schedule gave {value!r} for update {t}: a learning rate is a finite number >= 0")
    return lr


def parse_schedule(text):
    """Reads the CLI's spelling: `0.1`, `polynomial:C0,ALPHA`, `step:C0,C,T`, `cosine:C0,T[,LR_MIN]`."""
    name, _, rest = text.partition(":")
    if not rest:
        return as_schedule(_number(text, text))
    kinds = {"constant": Constant, "polynomial": Polynomial, "step": StepDecay, "cosine": Cosine}
    if name not in kinds:
        raise ScheduleError(f"unknown schedule {name!r} in --lr {text!r}; use one of {', '.join(kinds)}")
    args = [_number(part, text) for part in rest.split(",")]
    try:
        return kinds[name](*args)
    except TypeError:
        raise ScheduleError(f"wrong number of values for a {name} schedule in --lr {text!r}") from None


def _number(part, text):
    try:
        return float(part)
    except ValueError:
        raise ScheduleError(f"{part!r} is not a number in --lr {text!r}") from None


def _real(name, value):
    """`value` as a float; a string or None is a ScheduleError, not a TypeError."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ScheduleError(f"schedule parameter {name} must be a number, got {value!r}") from None


def _positive(name, value):
    value = _real(name, value)
    if not 0 < value < math.inf:  # an infinite rate sends every parameter to inf or nan in one update
        raise ScheduleError(f"schedule parameter {name} must be a positive finite number, got {value!r}")
    return value


def _period(kind, T):
    period = _real("T", T)
    if not (1 <= period < math.inf and period == int(period)):
        raise ScheduleError(f"{kind} schedule needs a whole period T >= 1, got T={T!r}")
    return int(period)
