"""Update rules: (params, gradients, learning rate) -> new params, with per-parameter state.

Each method returns new arrays instead of updating in place, so the caller's arrays, and any array a
compiled function might still hold, are never changed behind its back.
"""
import math

import numpy as np

from gradc.errors import GradcError


class MethodError(GradcError):
    """An unknown method name or an invalid method setting."""


class Method:
    """Base class: subclasses define `step(value, grad, lr, state)` for one parameter."""

    def __init__(self):
        self.state = {}

    def update_all(self, params, grads, lr):
        return {name: self.step(value, grads[name], lr, self.state.setdefault(name, {}))
                for name, value in params.items()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "state")
        return f"{type(self).__name__}({args})"


class GD(Method):
    """u <- u - lr * g."""

    def step(self, value, grad, lr, state):
        return value - lr * grad


class Momentum(Method):
    """Heavy ball: v <- beta * v + g; u <- u - lr * v.

    With `nesterov=True` the step looks ahead along the velocity, u <- u - lr * (g + beta * v): the
    Sutskever form of Nesterov's method, which needs the gradient at the current point only.
    """

    def __init__(self, beta=0.9, nesterov=False):
        super().__init__()
        self.beta, self.nesterov = _fraction("momentum", "beta", beta), bool(nesterov)

    def step(self, value, grad, lr, state):
        velocity = self.beta * state.get("v", 0.0) + grad
        state["v"] = velocity
        direction = grad + self.beta * velocity if self.nesterov else velocity
        return value - lr * direction


class Adam(Method):
    """Adam (Kingma and Ba 2015): steps of about lr per coordinate, scaled by running gradient moments."""

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__()
        self.beta1, self.beta2 = _fraction("adam", "beta1", beta1), _fraction("adam", "beta2", beta2)
        self.eps = _number("adam", "eps", eps)
        if not 0 < self.eps < math.inf:  # eps = 0 divides by zero where a gradient is zero
            raise MethodError(f"adam needs a finite eps > 0, got eps={eps!r}")

    def step(self, value, grad, lr, state):
        t = state["t"] = state.get("t", 0) + 1
        m = state["m"] = self.beta1 * state.get("m", 0.0) + (1 - self.beta1) * grad
        v = state["v"] = self.beta2 * state.get("v", 0.0) + (1 - self.beta2) * np.square(grad)
        # Bias correction: m and v start at zero, so early averages are scaled back up.
        m_hat = m / (1 - self.beta1 ** t)
        v_hat = v / (1 - self.beta2 ** t)
        return value - lr * m_hat / (np.sqrt(v_hat) + self.eps)


METHODS = {
    "gd": GD,
    "momentum": Momentum,
    "nesterov": lambda: Momentum(nesterov=True),
    "adam": Adam,
}


def get_method(method):
    """A fresh Method for a name in METHODS; a Method instance is used with its state cleared."""
    if isinstance(method, Method):
        method.state = {}  # a fresh run must not inherit the velocity of the last one
        return method
    if not isinstance(method, str) or method not in METHODS:
        raise MethodError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    return METHODS[method]()


def _number(method, name, value):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MethodError(f"{method} needs a number for {name}, got {name}={value!r}") from None


def _fraction(method, name, value):
    """A setting in [0, 1), such as a momentum or Adam beta."""
    fraction = _number(method, name, value)
    if not 0 <= fraction < 1:
        raise MethodError(f"{method} needs 0 <= {name} < 1, got {name}={value!r}")
    return fraction
