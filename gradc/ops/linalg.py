"""Transposes, the identity and the trace (the products are in contractions.py)."""
import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import Formula, function
from gradc.ops.registry import Op, call, defop, linear


TRANSPOSE = defop(Op(name="transpose", arity=1, shape=lambda x: x[::-1],
                     impl=np.transpose, vjp=lambda g, out, x: (g.T,), jvp=linear("transpose"), symbol="ᵀ",
                     view=True, scalar_adjoint=True, inline=True, names=("transpose",), operator=".T",
                     formula=Formula("{0:atom}.T", r"{0:atom}^\top", terse=True),
                     doc="x.T or transpose(x): reverse the axes", domain=(ANY,), defined_everywhere=True))


def _trace_shape(x):
    if len(x) != 2 or x[0] != x[1]:
        raise ShapeError(f"trace: the operand must be a square matrix, got shape {shapes.show(x)} "
                         "(give both dimensions the same name: X (n, n))")
    return ()


# d trace(X) = I: the adjoint g (a scalar) times the identity (Matrix Cookbook (100)).
TRACE = defop(Op(name="trace", arity=1, shape=_trace_shape, impl=np.trace,
                 vjp=lambda g, out, x: (g * call("eye", shape=x.shape, like=x),), jvp=linear("trace"),
                 symbol="tr", doc="sum of the diagonal of a square matrix", names=("trace",),
                 formula=function("trace", r"\operatorname{tr}"), domain=(ANY,), defined_everywhere=True))
