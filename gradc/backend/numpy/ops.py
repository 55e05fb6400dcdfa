"""The ops only NumPy's cost rules make (specialize.py), registered beside the math's own: a.T @ b and vdot.

They are ordinary entries of the op table, defined here because no math rewrite wants them: on another backend
a.T @ b is a matmul of a transpose. They join the table after the math's ops, when this backend is imported.
"""
import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops import Op, call, defop
from gradc.ops.domain import ANY
from gradc.ops.formula import PRODUCT, Formula
from gradc.ops.contractions import matmul_shape
from gradc.ops.registry import each

# a.T @ b for matrices, one node for the cost rules that move a scale past it (specialize.py).
T_MATMUL = defop(Op(name="t_matmul", arity=2, shape=lambda a, b: matmul_shape(a[::-1], b),
                    impl=lambda a, b: a.T @ b,
                    vjp=lambda g, out, a, b: (b @ g.T, a @ g),
                    jvp=lambda t, out, a, b: each(t, lambda ta: ta.T @ b, lambda tb: a.T @ tb),
                    symbol="ᵀ@", doc="a.T @ b for matrices", domain=(ANY, ANY), defined_everywhere=True,
                    formula=Formula("{0:atom}.T @ {1:unary}", r"{0:atom}^\top {1:unary}", PRODUCT)))


def _vdot_shape(a, b):
    if a != b:
        raise ShapeError(f"vdot: operands must have one shape, got {shapes.show(a)} and {shapes.show(b)}")
    return ()


# sum(a * b) over every axis as one BLAS dot, for arrays of one shape.
VDOT = defop(Op(name="vdot", arity=2, shape=_vdot_shape, impl=np.vdot,
                vjp=lambda g, out, a, b: (g * b, g * a),
                jvp=lambda t, out, a, b: each(t, lambda ta: call("vdot", ta, b), lambda tb: call("vdot", a, tb)),
                symbol="·", doc="sum of the elementwise product of two arrays", domain=(ANY, ANY),
                defined_everywhere=True,
                formula=Formula("vdot({arguments})", r"\left\langle {0}, {1}\right\rangle")))
