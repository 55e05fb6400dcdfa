"""Linear algebra with NumPy's meaning: NumPy's documented examples and the Matrix Cookbook's identities."""
import numpy as np

import gradc


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
