"""Where an op's derivative rule holds, per operand: the intervals that the op tests and `gradc check` draw from.

An entry's `domain` holds one Domain per graph operand (a variadic op: one for all). `need` says in words what
the rule needs of the operand (`{} > 0`, formatted with its name); a domain without one is where central
differences of the op are accurate, not a restriction (any finite operand is in the rule's domain).
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Domain:
    """Operands drawn uniformly from (lo, hi), or from ±(lo, hi) with `signed` (clear of a point at 0);
    with `integer`, integers from lo up to hi (excluded): an index operand, never differentiated."""
    lo: float
    hi: float
    signed: bool = False
    need: str = ""
    integer: bool = False

    @property
    def restricted(self):
        """The rule does not hold at every finite operand."""
        return bool(self.need)

    def pieces(self):
        """The intervals making up the domain, lowest first."""
        return ((-self.hi, -self.lo), (self.lo, self.hi)) if self.signed else ((self.lo, self.hi),)

    def sample(self, rng, shape):
        if self.integer:
            return rng.integers(int(self.lo), int(self.hi), size=shape)
        x = rng.uniform(self.lo, self.hi, size=shape)
        if self.signed:
            x = x * rng.choice([-1.0, 1.0], size=shape)
        return x if shape else float(x)

    def __str__(self):
        text = f"({self.lo:g}, {self.hi:g})"
        return "±" + text if self.signed else text

    structured = False  # drawn as a whole (a matrix), not element by element from its pieces


@dataclass(frozen=True)
class Matrices(Domain):
    """Square matrices drawn whole: k·I plus noise too small to matter (strictly diagonally dominant, so
    invertible and well conditioned), the diagonal's signs random unless `positive` (then det > 0); with
    `spd`, B Bᵀ + I (symmetric positive definite). Any other shape is drawn from (lo, hi) element by element."""
    positive: bool = False
    spd: bool = False
    structured = True

    def sample(self, rng, shape):
        if len(shape) != 2 or shape[0] != shape[1]:
            return super().sample(rng, shape)
        n = shape[0]
        if self.spd:
            b = rng.uniform(-1.0, 1.0, size=shape)
            return b @ b.T + np.eye(n)
        diagonal = rng.uniform(1.0, 2.0, size=n)
        if not self.positive:
            diagonal = diagonal * rng.choice([-1.0, 1.0], size=n)
        noise = rng.uniform(-0.5, 0.5, size=shape) / n  # off-diagonal row sums stay below 1 <= |diagonal|
        return np.diag(diagonal) + noise - np.diag(np.diag(noise))

    def __str__(self):
        return "B Bᵀ + I" if self.spd else "±(1, 2)·I + noise" if not self.positive else "(1, 2)·I + noise"


ANY = Domain(-2.0, 2.0)
POSITIVE = Domain(0.5, 2.0, need="{} > 0")
NONZERO = Domain(0.3, 2.0, signed=True, need="{} != 0")
INDICES = Domain(0, 2, integer=True, need="{} integers in range")  # test shapes keep the gathered axis >= 2
KINKED = Domain(0.3, 2.0, signed=True, need="{} != 0 (a kink at 0)")
INVERTIBLE = Matrices(-2.0, 2.0, need="{} invertible")
POSITIVE_DET = Matrices(-2.0, 2.0, positive=True, need="det({}) > 0")
SPD = Matrices(-2.0, 2.0, spd=True, need="{} symmetric positive definite")


def intersect(pieces, others):
    """The intersection of two unions of open intervals, as a union (possibly empty)."""
    result = []
    for lo, hi in pieces:
        for other_lo, other_hi in others:
            low, high = max(lo, other_lo), min(hi, other_hi)
            if low < high:
                result.append((low, high))
    return tuple(sorted(result))


def sample_pieces(pieces, rng, shape):
    """Uniform draws over a union of intervals, each piece chosen in proportion to its length."""
    lengths = np.array([hi - lo for lo, hi in pieces])
    which = rng.choice(len(pieces), size=shape, p=lengths / lengths.sum())
    low = np.array([lo for lo, _ in pieces])[which]
    x = low + rng.uniform(0.0, 1.0, size=shape) * lengths[which]
    return x if shape else float(x)
