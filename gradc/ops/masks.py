"""Masks and selection: == and != (the orderings live beside max in elementwise.py), &, |, ~ on masks, and
where(cond, a, b), whose gradient reaches the chosen branch only.

NOTE: the double-where trap. where(x > 0, log(x), 0) at x = 0 gives 0, but the naive gradient of the log
branch is where(c, g, 0) / x = 0 / 0 = nan, and 0 * inf = nan leaks into the sum. gradc's reverse pass
(gradc/transform/differentiate.py) keeps the mask instead: an elementwise op whose whole adjoint is
where(c, h, 0) (or where(c, 0, h)) runs its rule on h and masks each result the same way, so the unchosen
elements are selected away, never multiplied by 0, down to the branch's inputs. Forward mode needs nothing
more: where's JVP is a selection too, so a tangent's inf or nan in the unchosen branch is never read.
"""
import numpy as np

from gradc import shapes
from gradc.ops.domain import ANY
from gradc.ops.elementwise import binary, unary
from gradc.ops.formula import Formula, mask
from gradc.ops.registry import Op, call, defop

_NO_GRAD = lambda g, out, x, y: (None, None)  # noqa: E731


def _mask(truth):
    return lambda *xs: np.where(truth(*xs), 1.0, 0.0)[()]


def _entry(**entry):
    return {"differentiable": False, "defined_everywhere": True, **entry}


EQ = binary("eq", "==", _mask(np.equal), _NO_GRAD, "x == y, equal(x, y): a 0/1 mask",
            **_entry(operator="==", names=("equal",), formula=mask("==", "="), domain=(ANY, ANY)))
NE = binary("ne", "!=", _mask(np.not_equal), _NO_GRAD, "x != y, not_equal(x, y): a 0/1 mask",
            **_entry(operator="!=", names=("not_equal",), formula=mask("!=", r"\ne"), domain=(ANY, ANY)))
# On masks, & | ~ are logical: a nonzero operand is true, as np.logical_and reads floats.
AND = binary("logical_and", "&", _mask(np.logical_and), _NO_GRAD, "a & b, logical_and(a, b) of masks",
             **_entry(operator="&", names=("logical_and",), domain=(ANY, ANY),
                      formula=Formula("{0:product} & {1:product}", r"{0:product} \land {1:product}")))
OR = binary("logical_or", "|", _mask(np.logical_or), _NO_GRAD, "a | b, logical_or(a, b) of masks",
            **_entry(operator="|", names=("logical_or",), domain=(ANY, ANY),
                     formula=Formula("{0:product} | {1:product}", r"{0:product} \lor {1:product}")))
NOT = unary("logical_not", "~", _mask(np.logical_not), lambda g, out, x: (None,), "~a, logical_not(a) of a mask",
            **_entry(operator="~", formula=Formula("~{0:unary}", r"\lnot {0:unary}"), domain=(ANY,)))
# The ops whose results are masks: &, | and ~ take only these (gradc/frontend/parse.py).
MASKS = ("ge", "gt", "le", "lt", "eq", "ne", "logical_and", "logical_or", "logical_not")


def _where_vjp(g, out, cond, a, b):
    return None, call("where", cond, g, 0.0), call("where", cond, 0.0, g)


def _where_jvp(tangents, out, cond, a, b):
    _, ta, tb = tangents
    if ta is None and tb is None:
        return None
    return call("where", cond, 0.0 if ta is None else ta, 0.0 if tb is None else tb)


WHERE = defop(Op(name="where", arity=3, shape=lambda c, a, b: shapes.broadcast(c, a, b, op="where"),
                 impl=lambda cond, a, b: np.where(cond, a, b)[()], vjp=_where_vjp, jvp=_where_jvp,
                 symbol="where", elementwise=True, names=("where",), defined_everywhere=True,
                 doc="where(cond, a, b): a where cond is true (nonzero), else b; gradient to the chosen one only",
                 formula=Formula("where({arguments})",
                                 r"\begin{{cases}} {1} & {0} \\ {2} & \text{{otherwise}} \end{{cases}}"),
                 domain=(ANY, ANY, ANY)))


def masked(graph, node):
    """`(cond, h, chosen)` where `node` is where(cond, h, 0) (chosen True) or where(cond, 0, h) (False)."""
    if graph[node]["op"] != "where":
        return None
    cond, a, b = graph.args(node)
    if graph.value_of(b) == 0.0:
        return cond, a, True
    if graph.value_of(a) == 0.0:
        return cond, b, False
    return None


def mask_like(cond, chosen, value):
    """`value` where the mask chooses (chosen) or does not (not chosen), else 0."""
    return call("where", cond, value, 0.0) if chosen else call("where", cond, 0.0, value)
