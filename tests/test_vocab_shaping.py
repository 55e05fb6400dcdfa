"""Shape functions with NumPy's meaning: the examples of NumPy's documentation, compiled from source."""
import numpy as np
import pytest

import gradc
from gradc.errors import ShapeError


def test_flip_follows_numpys_documentation():
    # numpy.flip's examples: A = np.arange(8).reshape((2, 2, 2))
    A = np.arange(8.0).reshape((2, 2, 2))
    for source, expected in [("flip(A, 0)", np.flip(A, 0)), ("flip(A, axis=1)", np.flip(A, 1)),
                             ("np.flip(A)", A[::-1, ::-1, ::-1]), ("flip(A, (0, 2))", np.flip(A, (0, 2)))]:
        fn = gradc.compile(f"sum(W * {source})", shapes={"A": (2, 2, 2), "W": (2, 2, 2)})
        W = np.arange(1.0, 9.0).reshape((2, 2, 2))
        assert fn.forward(A=A, W=W) == pytest.approx(np.sum(W * expected))
        np.testing.assert_allclose(fn.grad(A=A, W=W)["A"], np.flip(W, None) if source == "np.flip(A)"
                                   else np.flip(W, {"flip(A, 0)": 0, "flip(A, axis=1)": 1}.get(source, (0, 2))))


def test_flip_of_a_vector_reads_as_a_reversed_slice():
    fn = gradc.compile("x @ flip(x)", shapes={"x": ("n",)})
    assert "x[::-1]" in fn.source
    x = np.array([1.0, 2.0, 3.0])
    assert fn.forward(x=x) == 1 * 3 + 2 * 2 + 3 * 1
    np.testing.assert_allclose(fn.grad(x=x)["x"], 2 * x[::-1])


def test_flip_axis_out_of_range_is_a_shape_error():
    with pytest.raises(ShapeError, match="flip: axis 2"):
        gradc.compile("sum(flip(X, axis=2))", shapes={"X": ("n", "d")})
