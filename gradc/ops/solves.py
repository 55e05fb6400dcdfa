"""Inverses, solves, determinants and the Cholesky factor of square matrices, with NumPy's np.linalg meaning.

The rules follow the Matrix Cookbook (section 2) and Murray 2016 / autograd's cholesky: every derivative is built
from inv, solve and matmul nodes, so it can be differentiated again (Hessians).
"""
import numpy as np

from gradc import shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY, INVERTIBLE, POSITIVE_DET, SPD
from gradc.ops.formula import ATOM, PRODUCT, Formula, function
from gradc.ops.registry import Op, call, defop, linear, tangent_sum


def square(name, x):
    """The shape of a square matrix operand of `name`, checked."""
    if len(x) != 2 or x[0] != x[1]:
        raise ShapeError(f"{name}: the operand must be a square matrix, got shape {shapes.show(x)} (give both "
                         "dimensions the same name: X (n, n); stacks of matrices are not supported)")
    return x


def _solve_shape(a, b):
    square("solve", a)
    if len(b) not in (1, 2) or b[0] != a[0]:
        raise ShapeError(f"solve: the right-hand side must be a vector ({a[0]},) or a matrix ({a[0]}, k) to match "
                         f"the matrix {shapes.show(a)}, got shape {shapes.show(b)}")
    return b


def _scalar_of(name):
    """The shape rule of a scalar function of a square matrix."""
    def shape(x):
        square(name, x)
        return ()
    return shape


# d X⁻¹ = -X⁻¹ dX X⁻¹ (Cookbook (59)): the adjoint -X⁻ᵀ g X⁻ᵀ, reusing the result.
INV = defop(Op(name="inv", arity=1, shape=lambda x: square("inv", x), impl=np.linalg.inv,
               vjp=lambda g, out, x: (-(out.T @ g @ out.T),),
               jvp=lambda t, out, x: -(out @ t[0] @ out), symbol="⁻¹", names=("inv",),
               doc="inv(X): the inverse of a square matrix (np.linalg.inv; a singular X raises LinAlgError)",
               formula=Formula("inv({arguments})", "{0:atom}^{{-1}}"), domain=(INVERTIBLE,)))


def _solve_vjp(g, out, a, b):
    g_b = call("solve", a.T, g)
    return (-call("outer", g_b, out) if out.ndim == 1 else -(g_b @ out.T)), g_b


def _solve_jvp(tangents, out, a, b):
    ta, tb = tangents
    return call("solve", a, tangent_sum(tb, -(ta @ out) if ta is not None else None))


# x = A⁻¹ b: dx = A⁻¹ (db - dA x), so b's adjoint is A⁻ᵀ g and A's is -(A⁻ᵀ g) xᵀ.
SOLVE = defop(Op(name="solve", arity=2, shape=_solve_shape, impl=np.linalg.solve, vjp=_solve_vjp, jvp=_solve_jvp,
                 symbol="solve", names=("solve",),
                 doc="solve(A, b): x with A @ x = b; b a vector (n,) or a matrix (n, k), as NumPy 2 reads it",
                 formula=Formula("solve({arguments})", "{0:atom}^{{-1}} {1:atom}", PRODUCT),
                 domain=(INVERTIBLE, ANY)))


def _inverse_transposed(x):
    return call("inv", x).T


# NOTE: NumPy's det is finite at every matrix, but d det X = det X tr(X⁻¹ dX) (Cookbook (49)) is written with
# X⁻¹, so the gradient needs X invertible: at a singular X computing it raises LinAlgError.
DET = defop(Op(name="det", arity=1, shape=_scalar_of("det"), impl=np.linalg.det,
               vjp=lambda g, out, x: (g * out * _inverse_transposed(x),),
               jvp=lambda t, out, x: out * call("sum", _inverse_transposed(x) * t[0], axis=None, keepdims=False),
               symbol="det", names=("det",), scalar_adjoint=True,
               doc="det(X): the determinant of a square matrix (its gradient det(X) inv(X).T needs X invertible)",
               formula=function("det", r"\det"), domain=(INVERTIBLE,), defined_everywhere=True))


def _log_det_rules():
    """d log|det X| = tr(X⁻¹ dX) (Cookbook (57)): the adjoint g X⁻ᵀ."""
    vjp = lambda g, out, x: (g * _inverse_transposed(x),)  # noqa: E731
    jvp = lambda t, out, x: call("sum", _inverse_transposed(x) * t[0], axis=None, keepdims=False)  # noqa: E731
    return dict(vjp=vjp, jvp=jvp)


def _logabsdet(x):
    return np.linalg.slogdet(x)[1]


# slogdet(X) is the pair (sign, log|det X|): two ops, one per part, read as slogdet(X)[1] and slogdet(X)[0]
# (or `s, logdet = slogdet(X)` in a def body; frontend/parse.py's PARTS).
LOGABSDET = defop(Op(name="logabsdet", arity=1, shape=_scalar_of("slogdet"), impl=_logabsdet, **_log_det_rules(),
                     symbol="log|det|", names=("slogdet",), scalar_adjoint=True,
                     doc="slogdet(X)[1]: log |det X| without overflow; slogdet(X)[0] is det's sign (gradient 0); "
                         "s, logdet = slogdet(X)",
                     formula=Formula("slogdet({0})[1]", r"\log\left|\det {0:atom}\right|", ATOM, latex_prec=PRODUCT),
                     domain=(INVERTIBLE,)))
SLOGDET_SIGN = defop(Op(name="slogdet_sign", arity=1, shape=_scalar_of("slogdet"),
                        impl=lambda x: np.linalg.slogdet(x)[0], vjp=lambda g, out, x: (None,),
                        jvp=lambda t, out, x: None, differentiable=False, symbol="sign det",
                        doc="slogdet(X)[0]: the sign of det X, -1, 0 or 1 (gradient 0)",
                        formula=Formula("slogdet({0})[0]", r"\operatorname{{sign}} \det {0:atom}", ATOM,
                                        latex_prec=PRODUCT),
                        domain=(INVERTIBLE,), defined_everywhere=True))


def _logdet(x):
    sign, logabsdet = np.linalg.slogdet(x)
    return logabsdet if sign >= 0 else np.nan


# log(det(X)) as the simplifier rewrites it (rules.py): slogdet's log|det X|, which neither overflows nor
# underflows where det does, but nan where det X < 0, as np.log(det(X)) is (and -inf at a singular X, as it is).
LOGDET = defop(Op(name="logdet", arity=1, shape=_scalar_of("log(det)"), impl=_logdet, **_log_det_rules(),
                  symbol="log det", scalar_adjoint=True,
                  doc="log(det(X)) through slogdet: nan where det X < 0, as np.log gives",
                  formula=Formula("log(det({0}))", r"\log \det {0:atom}", ATOM, latex_prec=PRODUCT),
                  domain=(POSITIVE_DET,)))


def _lower_half(x):
    return np.tril(x) - 0.5 * np.diag(np.diag(x))


# Φ(X): X's lower triangle with half its diagonal, Murray's Φ. It is its own adjoint: <G, Φ(X)> = <Φ(G), X>.
LOWER_HALF = defop(Op(name="lower_half", arity=1, shape=lambda x: square("lower_half", x), impl=_lower_half,
                      vjp=lambda g, out, x: (call("lower_half", g),), jvp=linear("lower_half"), symbol="Φ",
                      doc="the lower triangle with half the diagonal (the Cholesky factor's derivative)",
                      formula=function("lower_half", r"\Phi"), domain=(ANY,), defined_everywhere=True))


def _cholesky_vjp(g, out, a):
    inverse = call("inv", out)
    s = inverse.T @ call("lower_half", out.T @ g) @ inverse
    return (call("lower_half", s + s.T),)


def _cholesky_jvp(tangents, out, a):
    half = call("lower_half", tangents[0])
    inverse = call("inv", out)
    return out @ call("lower_half", inverse @ (half + half.T) @ inverse.T)


# A = L Lᵀ: L⁻¹ dA L⁻ᵀ = L⁻¹ dL + (L⁻¹ dL)ᵀ, whose lower half is L⁻¹ dL (Murray 2016, eq. 9), so
# dL = L Φ(L⁻¹ dA L⁻ᵀ) and the adjoint is L⁻ᵀ Φ(Lᵀ g) L⁻¹ = S, symmetrized.
# NOTE: np.linalg.cholesky reads only A's lower triangle (LAPACK potrf, 'L'), so dA counts as
# Φ(dA) + Φ(dA)ᵀ and the gradient is Φ(S + Sᵀ), zero above the diagonal: the derivative of what NumPy computes.
# JAX and PyTorch give the symmetric (S + Sᵀ) / 2 instead; both agree on every symmetric dA.
CHOLESKY = defop(Op(name="cholesky", arity=1, shape=lambda x: square("cholesky", x), impl=np.linalg.cholesky,
                    vjp=_cholesky_vjp, jvp=_cholesky_jvp, symbol="chol", names=("cholesky",),
                    doc="cholesky(A): the lower L with A = L @ L.T (A symmetric positive definite; reads A's lower "
                        "triangle only)",
                    formula=function("cholesky", r"\operatorname{chol}"), domain=(SPD,)))
