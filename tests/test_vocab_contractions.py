"""Contractions with NumPy's meaning: matmul (batched), dot, inner, outer, einsum. The forward examples are those
of NumPy's documentation, compiled from source; the gradients are checked against central differences and
closed forms (the op table in test_ops.py checks every rule at random points)."""
import numpy as np
import pytest

import gradc
from gradc import dimensions
from gradc.errors import ShapeError
from gradc.frontend.parse import parse
from gradc.ops.contractions import explicit
from helpers import assert_grad_matches


def value(source, **arrays):
    """The compiled forward value of `source` at the arrays, their shapes declared as integers."""
    fn = gradc.compile(source, shapes={name: np.shape(a) for name, a in arrays.items()})
    return fn.forward(**arrays)


# numpy.matmul's examples
def test_matmul_follows_numpys_documentation():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[4.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(value("np.matmul(a, b)", a=a, b=b), [[4, 1], [2, 2]])
    np.testing.assert_array_equal(value("a @ v", a=a, v=np.array([1.0, 2.0])), [1, 2])
    np.testing.assert_array_equal(value("v @ a", a=a, v=np.array([1.0, 2.0])), [1, 2])
    # "Broadcasting is conventional for stacks of arrays"
    a = np.arange(2.0 * 2 * 4).reshape((2, 2, 4))
    b = np.arange(2.0 * 2 * 4).reshape((2, 4, 2))
    c = np.arange(1.0 * 2 * 4).reshape((1, 4, 2))
    assert value("a @ b", a=a, b=b).shape == (2, 2, 2)
    assert value("a @ c", a=a, c=c).shape == (2, 2, 2)
    assert value("np.matmul(a, b)", a=a, b=b)[0, 1, 1] == np.sum(a[0, 1, :] * b[0, :, 1]) == 98


def test_matmul_of_a_scalar_is_a_shape_error_with_a_hint():
    with pytest.raises(ShapeError, match=r"@: operands must be vectors or matrices, got shapes \(n,\) and \(\)"):
        gradc.compile("sum(x @ c)", shapes={"x": ("n",)})


def test_batched_matmul_shape_is_symbolic_and_broadcast():
    fn = gradc.compile("sum(A @ B)", shapes={"A": ("b", 1, "n", "k"), "B": ("c", "k", "m")})
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((3, 1, 2, 4)), rng.standard_normal((5, 4, 2))
    assert fn.forward(A=A, B=B) == pytest.approx(np.sum(A @ B))
    grads = fn.grad(A=A, B=B)
    # d sum(A @ B) / dA = ones @ B^T summed over the batch A broadcast against, and likewise for B
    np.testing.assert_allclose(grads["A"], np.broadcast_to(B.sum(axis=(0, 2)), A.shape), rtol=1e-12)
    np.testing.assert_allclose(grads["B"], np.broadcast_to(A.sum(axis=(0, 1, 2))[:, None], B.shape), rtol=1e-12)
    with pytest.raises(ShapeError, match="batch axes"):
        gradc.compile("sum(A @ B)", shapes={"A": ("b", "n", "k"), "B": ("c", "k", "m")})


# numpy.dot's examples
def test_dot_follows_numpys_documentation():
    assert value("np.dot(a, b)", a=3.0, b=4.0) == 12
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[4.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(value("np.dot(a, b)", a=a, b=b), [[4, 1], [2, 2]])
    a = np.arange(3.0 * 4 * 5 * 6).reshape((3, 4, 5, 6))
    b = np.arange(3.0 * 4 * 5 * 6)[::-1].reshape((5, 4, 6, 3))
    result = value("dot(a, b)", a=a, b=b)
    assert result.shape == (3, 4, 5, 5, 4, 3)
    assert result[2, 3, 2, 1, 2, 2] == np.sum(a[2, 3, 2, :] * b[1, 2, :, 2]) == 499128


def test_dot_with_a_scalar_is_multiplication():
    fn = gradc.compile("sum(np.dot(c, x) * x)", shapes={"x": ("n",)})
    x = np.array([1.0, -2.0, 3.0])
    assert fn.forward(c=2.5, x=x) == pytest.approx(2.5 * 14)
    grads = fn.grad(c=2.5, x=x)
    assert grads["c"] == pytest.approx(14) and np.allclose(grads["x"], 5 * x)
    assert " * " in fn.source and "dot" not in fn.source.split('"""')[2]


def test_dot_of_vectors_and_matrices_is_written_as_matmul():
    fn = gradc.compile("x.dot(A.dot(y))", shapes={"A": ("n", "d"), "x": ("n",), "y": ("d",)})
    assert "np.dot" not in fn.source and "A @ y" in fn.source


def test_dot_of_misaligned_operands_names_the_axes():
    with pytest.raises(ShapeError, match="dot: shapes .* second-to-last of b"):
        gradc.compile("sum(dot(A, B))", shapes={"A": ("n", "d", "k"), "B": ("d", "m")})


# numpy.inner's examples
def test_inner_follows_numpys_documentation():
    assert value("np.inner(a, b)", a=np.array([1.0, 2.0, 3.0]), b=np.array([0.0, 1.0, 0.0])) == 2
    a = np.arange(24.0).reshape((2, 3, 4))
    np.testing.assert_array_equal(value("np.inner(a, b)", a=a, b=np.arange(4.0)), [[14, 38, 62], [86, 110, 134]])
    a = np.arange(2.0).reshape((1, 1, 2))
    b = np.arange(6.0).reshape((3, 2))
    np.testing.assert_array_equal(value("inner(a, b)", a=a, b=b), [[[1, 3, 5]]])
    np.testing.assert_array_equal(value("np.inner(a, 7.0)", a=np.eye(2)), [[7, 0], [0, 7]])


# numpy.outer's examples
def test_outer_follows_numpys_documentation():
    rl = value("np.outer(a, b)", a=np.ones(5), b=np.linspace(-2, 2, 5))
    np.testing.assert_array_equal(rl, np.tile(np.linspace(-2, 2, 5), (5, 1)))


# np.outer flattens operands that are not vectors, a scalar to a vector of one
OUTER_SHAPES = [((2, 3), (4,)), ((3,), (2, 2)), ((2, 3), (3, 1, 2)), ((), (3,)), ((2, 2), ()), ((), ())]


@pytest.mark.parametrize("a_shape, b_shape", OUTER_SHAPES)
def test_outer_of_non_vectors_flattens_them_as_numpy_does(a_shape, b_shape, rng):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    W = rng.standard_normal((a.size, b.size))
    np.testing.assert_array_equal(value("np.outer(a, b)", a=a, b=b), np.outer(a, b))
    fn = gradc.compile("sum(W * outer(a, b))", shapes={"a": a_shape, "b": b_shape, "W": W.shape})
    arrays = dict(a=a if a_shape else float(a), b=b if b_shape else float(b), W=W)
    assert fn.forward(**arrays) == pytest.approx(np.sum(W * np.outer(a, b)), rel=1e-12)
    grads = _check_gradient(fn, arrays, rng)
    np.testing.assert_allclose(grads["a"], np.reshape(W @ b.ravel(), a_shape), rtol=1e-12)


def test_outer_of_named_matrices_has_the_sizes_as_products(rng):
    fn = gradc.compile("sum(outer(A, B) ** 2)", shapes={"A": ("n", "d"), "B": ("m", "d")})
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    assert fn.forward(A=A, B=B) == pytest.approx(np.sum(np.outer(A, B) ** 2), rel=1e-12)
    _check_gradient(fn, dict(A=A, B=B), rng)
    graph = parse("outer(A, B)", {"A": ("n", "d"), "B": ("m", "d")})
    assert graph.shape(graph.outputs[0]) == (dimensions.multiply("n", "d"), dimensions.multiply("m", "d"))


# numpy.einsum's examples: a = np.arange(25).reshape(5, 5), b = np.arange(5), c = np.arange(6).reshape(2, 3)
A = np.arange(25.0).reshape(5, 5)
B = np.arange(5.0)
C = np.arange(6.0).reshape(2, 3)
EINSUM_EXAMPLES = [
    ("einsum('ii', a)", dict(a=A), 60), ("einsum('ii->i', a)", dict(a=A), [0, 6, 12, 18, 24]),
    ("einsum('ij->i', a)", dict(a=A), [10, 35, 60, 85, 110]), ("einsum('ji', c)", dict(c=C), C.T),
    ("einsum('ij->ji', c)", dict(c=C), C.T), ("einsum('ij,j', a, b)", dict(a=A, b=B), [30, 80, 130, 180, 230]),
    ("einsum('...j,j', a, b)", dict(a=A, b=B), [30, 80, 130, 180, 230]), ("einsum('i,i', b, b)", dict(b=B), 30),
    ("einsum(',ij', s, c)", dict(s=3.0, c=C), [[0, 3, 6], [9, 12, 15]]),
    ("einsum('i,j', v, b)", dict(v=np.arange(2.0) + 1, b=B), [[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]]),
    ("einsum('...ii->...i', t)", dict(t=np.arange(8.0).reshape(2, 2, 2)), [[0, 3], [4, 7]]),
    ("einsum('ij,jk->ik', a, a)", dict(a=A), A @ A),
    ("np.einsum('i...->...', a)", dict(a=A), [50, 55, 60, 65, 70]),
]


@pytest.mark.parametrize("source, arrays, expected", EINSUM_EXAMPLES, ids=[s for s, _, _ in EINSUM_EXAMPLES])
def test_einsum_follows_numpys_documentation(source, arrays, expected):
    np.testing.assert_array_equal(value(source, **arrays), expected)


def test_tensor_contraction_from_numpys_einsum_documentation():
    a = np.arange(60.0).reshape(3, 4, 5)
    b = np.arange(24.0).reshape(4, 3, 2)
    np.testing.assert_array_equal(value("einsum('ijk,jil->kl', a, b)", a=a, b=b),
                                  [[4400, 4730], [4532, 4874], [4664, 5018], [4796, 5162], [4928, 5306]])


@pytest.mark.parametrize("spec, shapes, written", [
    ("ij,jk", [(2, 3), (3, 4)], "ij,jk->ik"), ("ii", [(3, 3)], "ii->"), ("ba", [(2, 3)], "ba->ab"),
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 2)], "acij,bjk->abik"), ("i...", [(5, 4)], "ia->ai"),
    ("i...->...", [(5, 4)], "ia->a"),
    (" i , i -> ", [(3,), (3,)], "i,i->"),
])
def test_specs_are_written_out_explicitly(spec, shapes, written):
    assert explicit(spec, shapes) == written


@pytest.mark.parametrize("source, message", [
    ("einsum('ij,jk->ik', A, x)", r"operand 2 has shape \(n,\), but 'jk'"),
    ("einsum('ij,jk->ik', A, A)", r"the letter 'j' in 'ij,jk->ik' stands for both d and n"),
    ("einsum('ij->k', A)", r"the output 'k'"),
    ("einsum('ij->ii', A)", r"the output 'ii'"),
    ("einsum('ij,j', A)", r"names 2 operand\(s\), got 1"),
    ("einsum('i.j', A)", r"'\.' only as one '\.\.\.'"),
    ("einsum('i-j', A)", r"not of the form"),
    ("einsum(s, A)", r"a spec string and its operands"),
    ("einsum('ij', A, optimize=True)", r"no keyword arguments"),
    ("einsum('...i->i', A)", r"sums the axes of '\.\.\.' away"),
])
def test_einsum_misuse_is_a_clear_error(source, message):
    with pytest.raises(gradc.GradcError, match=message) as caught:
        gradc.compile(f"sum({source})", shapes={"A": ("n", "d"), "x": ("n",), "s": ()}, strict=False)
    assert "^" in str(caught.value)


def _check_gradient(fn, arrays, rng):
    grads = fn.grad(**arrays)
    assert_grad_matches(lambda **a: fn.forward(**a), grads, arrays, list(arrays), rng)
    return grads


def test_bilinear_form_through_einsum_matches_closed_form(rng):
    fn = gradc.compile("einsum('i,ij,j', x, A, y)", shapes={"x": ("n",), "A": ("n", "d"), "y": ("d",)})
    x, A, y = rng.standard_normal(4), rng.standard_normal((4, 3)), rng.standard_normal(3)
    assert fn.forward(x=x, A=A, y=y) == pytest.approx(x @ A @ y, rel=1e-12)
    grads = _check_gradient(fn, dict(x=x, A=A, y=y), rng)
    np.testing.assert_allclose(grads["A"], np.outer(x, y), rtol=1e-12)  # Matrix Cookbook (70)
    np.testing.assert_allclose(grads["x"], A @ y, rtol=1e-12)
    np.testing.assert_allclose(grads["y"], A.T @ x, rtol=1e-12)


def test_batched_attention_scores_match_finite_differences(rng):
    # softmax(Q K^T / sqrt(d)) V over a batch of heads, with @ and with einsum
    shapes = {"Q": ("h", "n", "d"), "K": ("h", "m", "d"), "V": ("h", "m", "e"), "W": ("h", "n", "e")}
    arrays = {"Q": rng.standard_normal((2, 3, 4)), "K": rng.standard_normal((2, 5, 4)),
              "V": rng.standard_normal((2, 5, 3)), "W": rng.standard_normal((2, 3, 3))}
    scores = np.einsum("hnd,hmd->hnm", arrays["Q"], arrays["K"]) / 2.0
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    expected = np.sum(arrays["W"] * (weights @ arrays["V"]))
    for source in ["sum(W * (softmax(einsum('hnd,hmd->hnm', Q, K) / sqrt(4.0), axis=-1) @ V))",
                   "sum(W * einsum('hnm,hme->hne', softmax(einsum('hnd,hmd->hnm', Q, K) / 2.0, axis=2), V))"]:
        fn = gradc.compile(source, shapes=shapes)
        assert fn.forward(**arrays) == pytest.approx(expected, rel=1e-12)
        _check_gradient(fn, arrays, rng)


def test_trace_and_diagonal_through_einsum(rng):
    fn = gradc.compile("einsum('ii', X) + sum(einsum('ii->i', X) ** 2)", shapes={"X": ("n", "n")})
    X = rng.standard_normal((4, 4))
    assert fn.forward(X=X) == pytest.approx(np.trace(X) + np.sum(np.diag(X) ** 2), rel=1e-12)
    grads = _check_gradient(fn, dict(X=X), rng)
    np.testing.assert_allclose(grads["X"], np.eye(4) + np.diag(2 * np.diag(X)), rtol=1e-12, atol=1e-15)


def test_einsum_hessian_matches_closed_form(rng):
    # f = x^T A x: its Hessian is A + A^T (through the einsum JVP of the einsum VJP)
    fn = gradc.compile("einsum('i,ij,j->', x, A, x)", shapes={"x": ("n",), "A": ("n", "n")})
    x, A = rng.standard_normal(3), rng.standard_normal((3, 3))
    np.testing.assert_allclose(fn.hessian(x=x, A=A)["x"]["x"], A + A.T, rtol=1e-12)


@pytest.mark.parametrize("source, shapes, written", [
    ("einsum('i,ij,j', x, A, y)", {"x": ("n",), "A": ("n", "d"), "y": ("d",)}, ["x @ A", "_outer(x, y)"]),
    ("sum(einsum('ij,jk,kl->il', A, B, C))", {"A": ("n", "n"), "B": ("n", "n"), "C": ("n", "n")}, ["A @ B"]),
    ("einsum('ii', X) + sum(einsum('ii->i', X))", {"X": ("n", "n")}, ["np.trace(X)", "X.diagonal()"]),
    ("sum(einsum('ij,kj->ik', A, B))", {"A": ("n", "d"), "B": ("m", "d")}, ["A @ B.T"]),
])
def test_einsums_that_are_products_are_written_as_products(source, shapes, written):
    # NumPy's einsum runs one loop over every letter unless it optimizes (n^4 for a chain of three): pairs
    # that are matrix products become @, one-operand specs sums, traces or diagonals
    fn = gradc.compile(source, shapes=shapes)
    assert "np.einsum('" not in fn.source
    for text in written:
        assert text in fn.source


def test_an_einsum_left_as_einsum_is_one_readable_line(rng):
    fn = gradc.compile("sum(W * einsum('bij,bjk->bik', A, B))",
                       shapes={"A": ("b", "n", "d"), "B": ("b", "d", "m"), "W": ("b", "n", "m")})
    assert "np.einsum('bij,bjk->bik', A, B)" in fn.source
    arrays = {"A": rng.standard_normal((2, 3, 4)), "B": rng.standard_normal((2, 4, 5)),
              "W": rng.standard_normal((2, 3, 5))}
    assert fn.forward(**arrays) == pytest.approx(np.sum(arrays["W"] * (arrays["A"] @ arrays["B"])), rel=1e-12)
    _check_gradient(fn, arrays, rng)


def test_a_rearranging_einsum_is_copied_before_anything_writes_into_it(rng):
    # np.einsum('ijk->kij', X) is a view of X: the in-place lines after it must not write through it into X
    fn = gradc.compile("sum(exp(einsum('ijk->kij', X)) * W)", shapes={"X": (2, 3, 4), "W": (4, 2, 3)})
    X, W = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2, 3))
    kept = X.copy()
    grads = fn.grad(X=X, W=W)
    np.testing.assert_array_equal(X, kept)
    np.testing.assert_allclose(grads["X"], np.transpose(W, (1, 2, 0)) * np.exp(X), rtol=1e-12)


# numpy.tensordot's examples
def test_tensordot_follows_numpys_documentation():
    a = np.arange(60.0).reshape(3, 4, 5)
    b = np.arange(24.0).reshape(4, 3, 2)
    c = value("np.tensordot(a, b, axes=([1, 0], [0, 1]))", a=a, b=b)
    np.testing.assert_array_equal(c, [[4400, 4730], [4532, 4874], [4664, 5018], [4796, 5162], [4928, 5306]])
    x, y = np.arange(3.0), np.arange(4.0)
    np.testing.assert_array_equal(value("tensordot(x, y, 0)", x=x, y=y), np.outer(x, y))
    A, B = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(value("tensordot(A, B, axes=1)", A=A, B=B), A @ B)
    assert value("tensordot(A, A)", A=A) == np.sum(A * A) == 55  # axes=2 by default: every axis


def test_tensordot_gradient_matches_finite_differences(rng):
    fn = gradc.compile("sum(W * tensordot(a, b, axes=([1, 0], [0, 1])))",
                       shapes={"a": ("n", "d", "k"), "b": ("d", "n", "m"), "W": ("k", "m")})
    arrays = {"a": rng.standard_normal((3, 4, 5)), "b": rng.standard_normal((4, 3, 2)),
              "W": rng.standard_normal((5, 2))}
    assert fn.forward(**arrays) == pytest.approx(np.sum(arrays["W"] * np.tensordot(arrays["a"], arrays["b"],
                                                                                   axes=([1, 0], [0, 1]))))
    _check_gradient(fn, arrays, rng)


@pytest.mark.parametrize("source, message", [
    ("tensordot(A, B, axes=([1], [1]))", r"axis 1 of a \(d\) and axis 1 of b \(k\)"),
    ("tensordot(A, B, axes=3)", r"axes=3 needs operands of at least 3 axes"),
    ("tensordot(A, B, axes=([0, 1], [0]))", r"pairs 2 axes of a with 1 of b"),
    ("tensordot(A, B, axes=([2], [0]))", r"axes \(2,\) of a are out of range"),
    ("tensordot(A, B, axes=1.5)", r"axes must be an int or a pair"),
])
def test_tensordot_misuse_names_the_axes(source, message):
    with pytest.raises(ShapeError, match=message):
        gradc.compile(f"sum({source})", shapes={"A": ("n", "d"), "B": ("d", "k")})


# numpy.kron's examples
def test_kron_follows_numpys_documentation():
    np.testing.assert_array_equal(value("np.kron(a, b)", a=np.array([1.0, 10, 100]), b=np.array([5.0, 6, 7])),
                                  [5, 6, 7, 50, 60, 70, 500, 600, 700])
    np.testing.assert_array_equal(value("np.kron(b, a)", a=np.array([1.0, 10, 100]), b=np.array([5.0, 6, 7])),
                                  [5, 50, 500, 6, 60, 600, 7, 70, 700])
    np.testing.assert_array_equal(value("kron(I, J)", I=np.eye(2), J=np.ones((2, 2))),
                                  [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    a = np.arange(100.0).reshape((2, 5, 2, 5))
    b = np.arange(24.0).reshape((2, 3, 4))
    c = value("kron(a, b)", a=a, b=b)
    assert c.shape == (2, 10, 6, 20)
    I, J = (1, 3, 0, 2), (0, 2, 1)
    K = tuple(np.array(I) * np.array((1,) + b.shape) + np.array((0,) + J))
    assert c[K] == a[I] * b[J]


def test_kron_gradient_matches_closed_form_and_differences(rng):
    # trace(kron(A, B)) = trace(A) trace(B): its gradient in A is trace(B) I
    fn = gradc.compile("trace(kron(A, B)) + sum(W * kron(A, B))", shapes={"A": (2, 2), "B": (3, 3), "W": (6, 6)})
    arrays = {"A": rng.standard_normal((2, 2)), "B": rng.standard_normal((3, 3)), "W": rng.standard_normal((6, 6))}
    grads = _check_gradient(fn, arrays, rng)
    W = arrays["W"].reshape(2, 3, 2, 3)
    np.testing.assert_allclose(grads["A"], np.trace(arrays["B"]) * np.eye(2) + np.einsum("ikjl,kl->ij", W, arrays["B"]),
                               rtol=1e-12)
    symbolic = gradc.compile("sum(kron(x, y) ** 2)", shapes={"x": ("n",), "y": ("m",)})
    x, y = rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(symbolic.grad(x=x, y=y)["x"], 2 * x * np.sum(y ** 2), rtol=1e-12)
