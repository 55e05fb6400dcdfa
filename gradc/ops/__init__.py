"""The operation table: one entry per op, holding its shape rule, meaning, derivative rules and drawing symbol.

Definition order is registration order: the op modules are imported here for the entries they register.
"""
from gradc.ops import (elementwise, functions, activations, masks, reduce, contractions, linalg, indexing,  # noqa: F401
                       nn, statistics, norms, cumulative, gathers, shaping, joins, construction, solves)  # (in registration order)
from gradc.ops.registry import REGISTRY, Op, Value, call, defop

__all__ = ["REGISTRY", "Op", "Value", "call", "defop"]
