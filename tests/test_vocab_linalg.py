"""Linear algebra with NumPy's meaning: NumPy's documented examples and the Matrix Cookbook's identities."""
import numpy as np
import pytest

import gradc
from gradc.gradcheck import draw
from helpers import assert_grad_matches, numeric_grad


def test_trace_follows_numpys_example():
    # numpy.trace's documentation: np.trace(np.eye(3)) == 3.0
    fn = gradc.compile("trace(X)", shapes={"X": ("n", "n")})
    assert fn.forward(X=np.eye(3)) == 3.0


def test_d_trace_AX_is_A_transposed(rng):
    # Matrix Cookbook (100): d/dX tr(AX) = A^T
    fn = gradc.compile("trace(A @ X)", shapes={"A": ("n", "n"), "X": ("n", "n")})
    A, X = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    np.testing.assert_allclose(fn.grad(A=A, X=X)["X"], A.T, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fn.forward(A=A, X=X), np.trace(A @ X), rtol=1e-12)


def test_d_trace_X_is_the_identity(rng):
    fn = gradc.compile("trace(X)", shapes={"X": ("n", "n")})
    np.testing.assert_array_equal(fn.grad(X=rng.standard_normal((3, 3)))["X"], np.eye(3))


# inverses, solves, determinants, Cholesky: NumPy's documented examples (numpy.linalg, NumPy 2)
SQUARE = {"X": ("n", "n")}


def well_conditioned(rng, n, spd=False):
    """k·I plus noise (invertible, det > 0), or B Bᵀ + I."""
    if spd:
        b = rng.standard_normal((n, n))
        return b @ b.T + np.eye(n)
    return 2.0 * np.eye(n) + 0.3 * rng.standard_normal((n, n))


def test_inv_follows_numpys_example():
    # numpy.linalg.inv: a = [[1., 2.], [3., 4.]] gives [[-2., 1.], [1.5, -0.5]], and a @ ainv is the identity
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    ainv = gradc.compile("inv(X)", shapes=SQUARE).forward(X=a)
    np.testing.assert_allclose(ainv, [[-2.0, 1.0], [1.5, -0.5]], rtol=1e-12)
    np.testing.assert_allclose(a @ ainv, np.eye(2), atol=1e-12)


def test_solve_follows_numpys_example():
    # numpy.linalg.solve: 3 * x0 + x1 = 9 and x0 + 2 * x1 = 8 give x = [2., 3.]
    fn = gradc.compile("np.linalg.solve(a, b)", shapes={"a": ("n", "n"), "b": ("n",)})
    np.testing.assert_allclose(fn.forward(a=np.array([[3.0, 1.0], [1.0, 2.0]]), b=np.array([9.0, 8.0])), [2.0, 3.0])


def test_solve_reads_a_matrix_right_hand_side_as_numpy_2_does(rng):
    # NumPy 2: b of shape (n,) is a vector, (n, k) a matrix of k right-hand sides
    a, b = well_conditioned(rng, 3), rng.standard_normal((3, 2))
    fn = gradc.compile("solve(a, b)", shapes={"a": ("n", "n"), "b": ("n", "k")})
    np.testing.assert_allclose(fn.forward(a=a, b=b), np.linalg.solve(a, b), rtol=1e-12)
    assert fn.forward(a=a, b=b).shape == (3, 2)


def test_det_follows_numpys_example():
    # numpy.linalg.det: det([[1, 2], [3, 4]]) is -2.0000000000000004
    fn = gradc.compile("np.linalg.det(X)", shapes=SQUARE)
    np.testing.assert_allclose(fn.forward(X=np.array([[1.0, 2.0], [3.0, 4.0]])), -2.0, rtol=1e-12)


def test_slogdet_follows_numpys_example():
    # numpy.linalg.slogdet: (sign, logabsdet) of [[1, 2], [3, 4]] is (-1, 0.69314718055994529), log 2
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert gradc.compile("slogdet(X)[0]", shapes=SQUARE).forward(X=a) == -1.0
    for source in ("np.linalg.slogdet(X)[1]", "slogdet(X)[-1]", "np.linalg.slogdet(X).logabsdet"):
        np.testing.assert_allclose(gradc.compile(source, shapes=SQUARE).forward(X=a), np.log(2.0), rtol=1e-12)
    # numpy.linalg.slogdet: a det too small for a float is still a finite logabsdet
    np.testing.assert_allclose(gradc.compile("slogdet(X)[1]", shapes=SQUARE).forward(X=np.eye(500) * 0.1),
                               -1151.2925464970228, rtol=1e-12)


def test_slogdet_unpacks_in_a_def_body_and_its_sign_has_no_gradient(rng):
    def loss(X):
        s, logabsdet = np.linalg.slogdet(X)
        return s * logabsdet

    X = well_conditioned(rng, 3)
    X[0] *= -1.0  # det < 0: the sign is -1
    fn = gradc.compile(loss, shapes=SQUARE)
    sign, logabsdet = np.linalg.slogdet(X)
    assert sign == -1.0
    np.testing.assert_allclose(fn.forward(X=X), sign * logabsdet, rtol=1e-12)
    np.testing.assert_allclose(fn.grad(X=X)["X"], sign * np.linalg.inv(X).T, rtol=1e-10)


@pytest.mark.parametrize("source, message", [
    ("slogdet(X)", r"gives the pair \(sign, logabsdet\): take one, as in slogdet\(X\)\[1\]"),
    ("slogdet(X)[2]", r"slogdet\(\) gives 2 values: take one by a constant index 0 to 1"),
    ("slogdet(X).det", r"slogdet\(\) gives the fields sign, logabsdet, not 'det'"),
    ("inv(x)", r"inv: the operand must be a square matrix, got shape \(n,\)"),
    ("det(Y)", r"det: the operand must be a square matrix, got shape \(n, k\)"),
    ("solve(X, Y.T)", r"solve: the right-hand side must be a vector \(n,\) or a matrix \(n, k\)"),
])
def test_bad_linear_algebra_is_a_clear_error(source, message):
    with pytest.raises(gradc.GradcError, match=message):
        gradc.compile(source, shapes={"X": ("n", "n"), "x": ("n",), "Y": ("n", "k")}, strict=False)


def test_cholesky_follows_numpys_example():
    # numpy.linalg.cholesky's example, real: A = [[1, 2], [2, 5]] = L L^T with L = [[1, 0], [2, 1]]
    L = gradc.compile("np.linalg.cholesky(A)", shapes={"A": ("n", "n")}).forward(A=np.array([[1.0, 2.0], [2.0, 5.0]]))
    np.testing.assert_allclose(L, [[1.0, 0.0], [2.0, 1.0]], rtol=1e-12)


def test_cholesky_gradient_through_a_symmetric_build_matches_differences(rng):
    # A = B B^T + I: the gradient reaches B through both triangles, whatever convention A's own gradient follows
    fn = gradc.compile("sum(W * cholesky(B @ B.T + I))", shapes={"B": ("n", "n"), "W": ("n", "n"), "I": ("n", "n")})
    B, W = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    arrays = dict(B=B, W=W, I=np.eye(4))
    assert_grad_matches(fn.forward, fn.grad(**arrays), arrays, ["B"], rng)


def test_cholesky_gradient_reads_the_lower_triangle_only(rng):
    # np.linalg.cholesky never reads A above the diagonal: that part of the gradient is 0
    A = well_conditioned(rng, 4, spd=True)
    g = gradc.compile("sum(W * cholesky(A))", shapes={"A": ("n", "n"), "W": ("n", "n")}).grad(
        A=A, W=rng.standard_normal((4, 4)))["A"]
    assert np.all(np.triu(g, 1) == 0.0) and np.any(np.tril(g) != 0.0)


# The Matrix Cookbook, section 2: derivatives compiled from source against the closed forms
def test_d_log_abs_det_X_is_X_inverse_transposed(rng):
    # Cookbook (57): d log|det X| / dX = X^-T, for either sign of det X
    X = well_conditioned(rng, 4)
    X[1] *= -1.0
    grad = gradc.compile("slogdet(X)[1]", shapes=SQUARE).grad(X=X)["X"]
    np.testing.assert_allclose(grad, np.linalg.inv(X).T, rtol=1e-8, atol=1e-12)


def test_d_det_X_is_det_times_X_inverse_transposed(rng):
    # Cookbook (49): d det(X) / dX = det(X) X^-T
    X = well_conditioned(rng, 4)
    grad = gradc.compile("det(X)", shapes=SQUARE).grad(X=X)["X"]
    np.testing.assert_allclose(grad, np.linalg.det(X) * np.linalg.inv(X).T, rtol=1e-8, atol=1e-12)


def test_d_trace_inv_X_A(rng):
    # Cookbook (63): d tr(X^-1 A) / dX = -(X^-1 A X^-1)^T
    X, A = well_conditioned(rng, 4), rng.standard_normal((4, 4))
    grad = gradc.compile("trace(inv(X) @ A)", shapes={"X": ("n", "n"), "A": ("n", "n")}).grad(X=X, A=A)["X"]
    inverse = np.linalg.inv(X)
    np.testing.assert_allclose(grad, -(inverse @ A @ inverse).T, rtol=1e-8, atol=1e-12)


def test_d_a_inv_X_b(rng):
    # Cookbook (61): d a^T X^-1 b / dX = -X^-T a b^T X^-T
    X, a, b = well_conditioned(rng, 4), rng.standard_normal(4), rng.standard_normal(4)
    fn = gradc.compile("a @ inv(X) @ b", shapes={"X": ("n", "n"), "a": ("n",), "b": ("n",)})
    inverse_t = np.linalg.inv(X).T
    np.testing.assert_allclose(fn.grad(X=X, a=a, b=b)["X"], -inverse_t @ np.outer(a, b) @ inverse_t, rtol=1e-8,
                               atol=1e-12)
    np.testing.assert_allclose(fn.forward(X=X, a=a, b=b), a @ np.linalg.inv(X) @ b, rtol=1e-12)


def test_d_quadratic_form(rng):
    # Cookbook (81): d x^T A x / dx = (A + A^T) x
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    grad = gradc.compile("x @ A @ x", shapes={"A": ("n", "n"), "x": ("n",)}).grad(x=x, A=A)["x"]
    np.testing.assert_allclose(grad, (A + A.T) @ x, rtol=1e-8, atol=1e-12)


GAUSSIAN_NLL = "r = x - mu; 0.5 * slogdet(S)[1] + 0.5 * r @ solve(S, r) + 0.5 * n * log(2 * pi)"


def test_gaussian_negative_log_likelihood_and_its_gradients(rng):
    # -log N(x; mu, S) and its gradients: d/dmu = -S^-1 (x - mu), d/dS = (S^-1 - S^-1 r r^T S^-1)^T / 2
    fn = gradc.compile(GAUSSIAN_NLL, shapes={"x": ("n",), "mu": ("n",), "S": ("n", "n")})
    n = 5
    S, x, mu = well_conditioned(rng, n, spd=True), rng.standard_normal(n), rng.standard_normal(n)
    r, inverse = x - mu, np.linalg.inv(S)
    expected = 0.5 * np.log(np.linalg.det(S)) + 0.5 * r @ inverse @ r + 0.5 * n * np.log(2 * np.pi)
    value, grads = fn.value_and_grad(x=x, mu=mu, S=S)
    np.testing.assert_allclose(value, expected, rtol=1e-10)
    np.testing.assert_allclose(grads["mu"], -inverse @ r, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(grads["S"], 0.5 * (inverse - inverse @ np.outer(r, r) @ inverse).T, rtol=1e-8,
                               atol=1e-12)


def test_hessian_of_log_det(rng):
    # d^2 log|det X| / dX_ij dX_kl = -(X^-1)_jk (X^-1)_li: the JVP of the gradient's inv
    X = well_conditioned(rng, 3)
    hessian = np.asarray(gradc.compile("slogdet(X)[1]", shapes=SQUARE).hessian(X=X)["X"]["X"])
    inverse = np.linalg.inv(X)
    np.testing.assert_allclose(hessian, -np.einsum("jk,li->ijkl", inverse, inverse), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("source", ["sum(W * inv(X))", "det(X)", "sum(W * solve(X, B))", "slogdet(X)[1]",
                                    "sum(W * cholesky(X @ X.T))"])
def test_hessian_matches_differences_of_the_gradient(source, rng):
    fn = gradc.compile(source, shapes={"X": ("n", "n"), "W": ("n", "n"), "B": ("n", "n")}, strict=False)
    arrays = {"X": well_conditioned(rng, 3), "W": rng.standard_normal((3, 3)), "B": rng.standard_normal((3, 3))}
    arrays = {name: arrays[name] for name in ("X", "W", "B") if name in source}
    hessian = np.asarray(fn.hessian(**arrays)["X"]["X"])
    for index in np.ndindex(3, 3):
        column = numeric_grad(lambda **a: fn.grad(**a)["X"][index], arrays, "X")
        np.testing.assert_allclose(hessian[index], column, rtol=1e-5, atol=1e-6)


def test_gradcheck_draws_matrices_whole_from_their_domains():
    # an elementwise draw from (-2, 2) is often near singular, and rarely positive definite
    fn = gradc.compile("slogdet(X)[1] + sum(cholesky(A)) + sum(solve(X, b))",
                       shapes={"X": ("n", "n"), "A": ("n", "n"), "b": ("n",)})
    drawn = draw(fn, seed=3)
    assert np.all(np.linalg.eigvalsh(drawn.point["A"]) >= 1.0)
    assert np.all(np.abs(np.diag(drawn.point["X"])) >= 1.0)
    assert any("drew A from B Bᵀ + I (cholesky needs A symmetric positive definite)" in note for note in drawn.notes)


# The simplifier's linear algebra: values kept, the cheaper form written
def test_log_det_goes_through_slogdet_and_keeps_numpys_nan(rng):
    fn = gradc.compile("log(det(X))", shapes=SQUARE)
    assert "_logdet(X)" in fn.source and "np.linalg.det" not in fn.source
    X = well_conditioned(rng, 4)
    np.testing.assert_allclose(fn.forward(X=X), np.log(np.linalg.det(X)), rtol=1e-12)
    np.testing.assert_allclose(fn.grad(X=X)["X"], np.linalg.inv(X).T, rtol=1e-8, atol=1e-12)
    X[0] *= -1.0  # det < 0: np.log(det(X)) is nan, and so is the rewritten form (slogdet(X)[1] is finite)
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.log(np.linalg.det(X)))
    assert np.isnan(fn.forward(X=X))
    with np.errstate(divide="ignore"):  # singular: -inf, as np.log(0.0)
        assert fn.forward(X=np.zeros((3, 3))) == -np.inf
    # det(0.1 I) of size 500 underflows to 0, log(0) = -inf; through slogdet it is finite
    np.testing.assert_allclose(fn.forward(X=np.eye(500) * 0.1), 500 * np.log(0.1), rtol=1e-12)


def test_log_abs_det_is_slogdet(rng):
    fn = gradc.compile("log(abs(det(X)))", shapes=SQUARE)
    assert "slogdet(X).logabsdet" in fn.source
    X = well_conditioned(rng, 4)
    X[2] *= -1.0
    np.testing.assert_allclose(fn.forward(X=X), np.log(np.abs(np.linalg.det(X))), rtol=1e-12)


@pytest.mark.parametrize("source, shapes", [("inv(X) @ b", {"b": ("n",)}), ("inv(X) @ B", {"B": ("n", "k")})])
def test_a_product_with_an_inverse_is_a_solve(source, shapes, rng):
    fn = gradc.compile(f"sum({source})", shapes={"X": ("n", "n"), **shapes})
    assert "np.linalg.inv" not in fn.source and "np.linalg.solve" in fn.source
    arrays = {"X": well_conditioned(rng, 4), "b": rng.standard_normal(4), "B": rng.standard_normal((4, 3))}
    arrays = {name: arrays[name] for name in ("X", *shapes)}
    expected = eval(source.replace("inv", "np.linalg.inv"), {"np": np}, dict(arrays))  # noqa: S307
    np.testing.assert_allclose(fn.forward(**arrays), np.sum(expected), rtol=1e-10)
    assert_grad_matches(fn.forward, fn.grad(**arrays), arrays, list(arrays), rng)


def test_trace_of_a_product_forms_no_product(rng):
    fn = gradc.compile("trace(A @ B)", shapes={"A": ("n", "k"), "B": ("k", "n")})
    forward = fn.source.split("def forward")[1].split("def value_and_grad")[0]
    assert "np.vdot(A, B.T)" in forward and "t1 = A @ B" not in forward
    A, B = rng.standard_normal((3, 5)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(fn.forward(A=A, B=B), np.trace(A @ B), rtol=1e-12)
    grads = fn.grad(A=A, B=B)
    np.testing.assert_allclose(grads["A"], B.T, rtol=1e-12)
    np.testing.assert_allclose(grads["B"], A.T, rtol=1e-12)
