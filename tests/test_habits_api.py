"""Issue 16, the Python half: the API behaves as JAX, SciPy and PyTorch users expect (and issue 15's html page)."""
import traceback

import numpy as np
import pytest

import gradc
from gradc.api import Gradient
from gradc.viz.lesson import LessonPage

LSQ = "0.5*sum((X@w - y)**2)"
LSQ_SHAPES = {"X": ("n", "d"), "w": ("d",), "y": ("n",)}


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=6)


# 1. Callable, positional in `inputs` order, wrt by position.
def test_a_compiled_function_is_callable_and_positional_in_input_order(data):
    X, w, y = data
    fn = gradc.compile(LSQ, wrt="w", shapes=LSQ_SHAPES)
    value = fn.forward(X=X, w=w, y=y)
    assert fn(X, w, y) == fn(X, w=w, y=y) == fn.forward(X, w, y) == value
    got, grads = fn.value_and_grad(X, w, y)
    assert got == value and np.allclose(grads["w"], X.T @ (X @ w - y))
    assert np.array_equal(fn.grad(X, w, y=y)["w"], grads["w"])
    with pytest.raises(gradc.GradcError, match=r"^f takes 3 inputs \(X, w, y\), got 4 positional arguments$"):
        fn(X, w, y, 1.0)
    with pytest.raises(gradc.GradcError, match="^f got w twice, by position and by keyword$"):
        fn.value_and_grad(X, w, w=w, y=y)


def test_the_derivative_methods_take_the_inputs_positionally_after_the_directions():
    rng = np.random.default_rng(1)
    x, v, A = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(3, 3))
    q = gradc.compile("x@A@x", shapes={"x": ("n",), "A": ("n", "n")})
    assert q.jvp({"x": v}, x, A) == q.jvp({"x": v}, x=x, A=A)
    value, slope = q.jvp({"x": v}, x, A)
    assert slope == pytest.approx(v @ (A + A.T) @ x)
    assert np.allclose(q.hvp({"x": v}, x, A)["x"], (A + A.T) @ v)
    assert np.allclose(q.hessian(x, A)["x"]["x"], A + A.T)
    assert np.allclose(q.jacobian(x, A=A)["x"], (A + A.T) @ x)
    value, cotangents = q.vjp(2.0, x, A)
    assert value == pytest.approx(x @ A @ x) and np.allclose(cotangents["x"], 2 * (A + A.T) @ x)


def test_wrt_takes_positions_in_input_order_as_argnums():
    source = "sum(X@w) + b"  # inputs in order of first appearance: X, w, b
    assert gradc.compile(source, wrt=1, shapes={"X": "n,d", "w": "d"}).wrt == ("w",)
    assert gradc.compile(source, wrt=(2, 0), shapes={"X": "n,d", "w": "d"}).wrt == ("b", "X")
    assert gradc.compile(source, wrt=[-1, "w"], shapes={"X": "n,d", "w": "d"}).wrt == ("b", "w")

    def loss(w, X):
        return np.sum(X @ w)
    assert gradc.compile(loss, wrt=0, shapes={"X": "n,d", "w": "d"}).wrt == ("w",)
    with pytest.raises(gradc.GradcError, match=r"^cannot differentiate with respect to position 3: there are 3 "
                                               r"inputs \(positions 0: X, 1: w, 2: b\)$"):
        gradc.compile(source, wrt=3, shapes={"X": "n,d", "w": "d"})
    with pytest.raises(gradc.GradcError, match="only once"):
        gradc.compile(source, wrt=(1, "w"), shapes={"X": "n,d", "w": "d"})


# 2. An undeclared input is named, with a shape to declare.
def test_an_undeclared_input_is_named_with_the_shape_that_compiles():
    with pytest.raises(gradc.ShapeError) as caught:
        gradc.compile("sum(X@w)", shapes={"X": ("n", "d")})
    assert caught.value.message == ('@: operands must be vectors or matrices, got shapes (n, d) and (); w is '
                                    'undeclared, so a scalar: declare it (shapes={"w": ("d",)} / --shape w=d)')
    assert (caught.value.line, caught.value.column) == (1, 4)


@pytest.mark.parametrize("source, shapes, hint", [
    ("h = tanh(X@W + b); sum(h)", {"X": ("n", "d"), "b": ("k",)},
     'W is undeclared, so a scalar: declare it (shapes={"W": ("d", "k")} / --shape W=d,k)'),
    ("X: (n, 3)\nsum(X@w)", {}, 'w is undeclared, so a scalar: declare it (shapes={"w": (3,)} / --shape w=3)'),
    ("b = a * 2; sum(X@b)", {"X": ("n", "d")},  # read through a name assigned before
     'a is undeclared, so a scalar: declare it (shapes={"a": ("d",)} / --shape a=d)'),
    ("h = tanh(X@W1 + b1); p = sigmoid(h@w2 + b2); mean((p - y)**2)",  # h@w2 fails, not h@w2 + b2
     {"X": ("n", "d"), "W1": ("d", "k"), "b1": ("k",), "y": ("n",)},
     'w2 is undeclared, so a scalar: declare it (shapes={"w2": ("k",)} / --shape w2=k)'),
    ("sum(u@v)", {}, 'u and v are undeclared, so scalars: declare them (shapes={"u": (...), "v": (...)} / '
                     '--shape u=... --shape v=...)'),
    ("x[0]", {}, 'x is undeclared, so a scalar: declare it (shapes={"x": (...)} / --shape x=...)'),
])
def test_undeclared_inputs_the_failing_operation_reads_are_named(source, shapes, hint):
    with pytest.raises(gradc.ShapeError) as caught:
        gradc.compile(source, shapes=shapes)
    assert caught.value.message.endswith("; " + hint)


def test_a_long_deep_source_is_hinted_without_trying_shapes():
    source = " + ".join(f"sin(x{k})" for k in range(3000)) + " + sum(X@w)"  # deeper than Python's own stack
    with pytest.raises(gradc.ShapeError) as caught:
        gradc.compile(source, shapes={"X": ("n", "d")})
    assert caught.value.message.endswith('w is undeclared, so a scalar: declare it (shapes={"w": (...)} / '
                                         '--shape w=...)')


def test_a_shape_error_of_declared_inputs_has_no_hint():
    with pytest.raises(gradc.ShapeError) as caught:
        gradc.compile("sum(X@w)", shapes={"X": ("n", "d"), "w": ("k",)})
    assert "undeclared" not in caught.value.message


def test_a_function_s_undeclared_parameter_is_named_at_its_file_and_line():
    def model(X, w):
        return np.sum(X @ w)
    with pytest.raises(gradc.ShapeError) as caught:
        gradc.compile(model, shapes={"X": ("n", "d")})
    error = caught.value
    assert error.filename == __file__ and error.source_line().strip() == "return np.sum(X @ w)"
    assert error.message.endswith('w is undeclared, so a scalar: declare it (shapes={"w": ("d",)} / --shape w=d)')


# 3. A shape for a name that is not an input.
def test_a_shape_for_a_name_that_is_not_an_input_is_refused_with_a_did_you_mean():
    source = "h = tanh(X@W1 + b1); sum(h)"
    shapes = {"X": ("n", "d"), "w1": ("d", "k"), "b1": ("k",)}
    with pytest.raises(gradc.ShapeError, match=r"^a shape is given for w1, which is not an input: did you mean W1\? "
                                               r"\(inputs: X, W1, b1\); strict=False ignores shapes of names the "
                                               r"source does not use$"):
        gradc.compile(source, shapes=shapes)
    with pytest.raises(gradc.ShapeError) as caught:
        gradc.compile(source, shapes=shapes, strict=False)  # still said where it explains the error
    assert caught.value.message.endswith('W1 is undeclared, so a scalar: declare it (shapes={"W1": ("d", "k")} / '
                                         '--shape W1=d,k); a shape is given for w1: did you mean W1?')
    with pytest.raises(gradc.ShapeError, match="^a shape is given for z, which is not an input "):
        gradc.compile("x * y", shapes={"z": ("n",)})


def test_strict_false_lets_one_dict_of_shapes_serve_several_models():
    shapes = {"X": ("n", "d"), "w": ("d",), "y": ("n",), "W1": ("d", "k")}
    fn = gradc.compile(LSQ, wrt="w", shapes=shapes, strict=False)
    assert fn.inputs == ("X", "w", "y")
    with pytest.raises(gradc.ShapeError, match="^a shape is given for W1"):
        gradc.compile(LSQ, wrt="w", shapes=shapes)  # the cached one is strict too


# 4. Tracebacks end at the user's call.
def _frames(call):
    try:
        call()
    except gradc.GradcError as error:
        return [frame.filename for frame in traceback.extract_tb(error.__traceback__)]
    raise AssertionError("no GradcError")


@pytest.mark.parametrize("call", [
    lambda: gradc.compile("sum(X@w)", shapes={"X": ("n", "d")}),
    lambda: gradc.compile("exq(x)"),
    lambda: gradc.compile(LSQ, shapes=LSQ_SHAPES).value_and_grad(np.ones((2, 2)), np.ones(3), np.ones(2)),
    lambda: gradc.compile(LSQ, shapes=LSQ_SHAPES)(np.ones((2, 2)), np.ones(2), np.ones(2), 4),
    lambda: gradc.compile("x@A@x", shapes={"x": "n", "A": "n,n"}).jvp({"x": np.ones(3)}, np.ones(2), np.eye(2)),
    lambda: gradc.compile("x@A@x", shapes={"x": "n", "A": "n,n"}).hessian(np.ones(2)),
    lambda: gradc.compile("x * y").render(html=True),
], ids=["compile", "parse", "value_and_grad", "bind", "jvp", "hessian", "render"])
def test_a_gradc_error_s_traceback_ends_at_the_user_s_call(call):
    frames = _frames(call)
    assert frames[0] == __file__
    assert len([name for name in frames if name != __file__]) == 1  # the boundary, and nothing under it


def test_the_decorator_s_error_ends_at_the_decorated_definition():
    def define():
        @gradc.gradient(wrt="w", shapes={"X": ("n", "d")})
        def f(X, w):
            return np.sum(X @ w)
    frames = _frames(define)
    assert frames[:2] == [__file__, __file__] and len(frames) == 3


# 5. The derivatives' results, as JAX shapes them.
def test_the_derivative_family_returns_what_jax_returns():
    rng = np.random.default_rng(2)
    z, ct = rng.normal(size=4), rng.normal(size=4)
    fn = gradc.compile("softmax(z)", shapes={"z": ("k",)})
    p = fn(z)
    J = fn.jacobian(z)  # jax.jacobian: the derivative alone
    assert set(J) == {"z"} and np.allclose(J["z"], np.diag(p) - np.outer(p, p))
    value, pulled = fn.vjp(ct, z)  # jax.vjp: the output, and the pullback's cotangents
    assert np.allclose(value, p) and np.allclose(pulled["z"], ct @ J["z"])
    value, tangent = fn.jvp({"z": ct}, z)  # jax.jvp: (primal_out, tangent_out)
    assert np.allclose(value, p) and np.allclose(tangent, J["z"] @ ct)
    q = gradc.compile("x@A@x", shapes={"x": "n", "A": "n,n"})
    x, v, A = z, ct, rng.normal(size=(4, 4))
    assert set(q.hvp({"x": v}, x, A)) == {"x", "A"}  # only the product, as the module's hvp
    H = q.hessian(x, A)
    assert set(H) == {"x", "A"} and set(H["x"]) == {"x", "A"} and H["x"]["A"].shape == (4, 4, 4)
    for method in ("jvp", "vjp", "jacobian", "hvp", "hessian"):
        assert "jax" in getattr(q, method).__doc__.lower()


# 6. repr, __name__ and __doc__.
def test_the_repr_shows_the_expression_and_the_shapes():
    fn = gradc.compile(LSQ, wrt="w", shapes=LSQ_SHAPES)
    assert repr(fn) == "<gradc.CompiledFunction f(X: (n, d), w: (d,), y: (n,)) = 0.5*sum((X@w - y)**2); wrt w>"
    assert repr(gradc.compile("x / (x + y)")) == "<gradc.CompiledFunction f(x, y) = x / (x + y); wrt x, y>"
    long = gradc.compile(" + ".join(f"sin(x{k})" for k in range(30)))
    text = repr(long)
    assert text.startswith("<gradc.CompiledFunction f(x0, x1, x2, x3, x4, x5, ...) = sin(x0) + sin(x1)")
    assert text.endswith("...; wrt x0, x1, x2, x3, x4, x5, ...>") and len(text) < 160
    several = gradc.compile("h = tanh(x)\np = h * h\np + 1")
    assert "= h = tanh(x); p = h * h; p + 1; wrt x>" in repr(several)


def test_a_compiled_function_keeps_its_name_and_docstring():
    def squared_error(X, w, y):
        """Half the squared residual."""
        return 0.5 * np.sum((X @ w - y) ** 2)
    fn = gradc.compile(squared_error, wrt="w", shapes=LSQ_SHAPES)
    assert fn.__name__ == "squared_error" and fn.__doc__ == "Half the squared residual."
    assert repr(fn).startswith("<gradc.CompiledFunction squared_error(X: (n, d), w: (d,), y: (n,)) = 0.5 * np.sum(")
    with pytest.raises(gradc.GradcError, match="^squared_error takes 3 inputs"):
        fn(1, 2, 3, 4)


# 7. A bare decorator takes its shapes from the calls.
def test_a_bare_decorator_compiles_for_the_first_call_s_arrays_and_again_when_they_do_not_fit():
    @gradc.gradient
    def loss(X, w):
        return np.sum(np.tanh(X @ w))
    assert isinstance(loss, Gradient) and loss.compiled is None
    assert repr(loss) == "<gradc.Gradient loss(X, w) wrt X, w; compiled at its first call>"
    with pytest.raises(gradc.GradcError, match="compiled at its first call"):
        loss.source  # noqa: B018
    X, w = np.ones((5, 3)), np.full(3, 0.1)
    assert loss(X, w) == pytest.approx(5 * np.tanh(0.3))
    first = loss.compiled
    assert first.shapes == {"X": ("d0", "d1"), "w": ("d1",)}
    assert repr(loss).endswith("shapes from call 1: loss(X: (5, 3), w: (3,))>")
    value, grads = loss.value_and_grad(np.ones((8, 3)), w)  # other sizes, the same equalities: no new compile
    assert loss.compiled is first and grads["w"].shape == (3,)
    assert loss(np.ones(3), w) == pytest.approx(np.tanh(0.3))  # a vector X: compiled again for call 3's arrays
    assert loss.compiled is not first and repr(loss).endswith("shapes from call 3: loss(X: (3,), w: (3,))>")
    with pytest.raises(gradc.ShapeError) as caught:
        loss(np.ones((4, 3)), np.ones(2))
    assert caught.value.message.endswith("do not align (d1 != d2; give dimensions that must agree the same name) "
                                         "(shapes from call 4: loss(X: (4, 3), w: (2,)))")


def test_a_bare_decorator_on_a_scalar_function_compiles_at_definition():
    @gradc.gradient
    def scalar(x, y):
        return x * y + np.sin(x)
    assert scalar.compiled is not None and scalar.grad(0.0, 2.0) == {"x": 3.0, "y": 0.0}
    assert scalar(np.ones(2), 2.0).shape == (2,)  # arrays later: compiled for them


def test_a_bare_decorator_still_raises_body_errors_at_definition():
    with pytest.raises(gradc.ParseError, match="if statements"):
        @gradc.gradient
        def broken(x):
            if x:
                return x
            return -x


# 8. An example's equal sizes are said to be the reason.
def test_a_square_example_says_which_equality_it_fixed():
    fn = gradc.compile("sum(X@w)", example={"X": np.ones((4, 4)), "w": np.ones(4)})
    assert fn.shapes == {"X": ("d0", "d0"), "w": ("d0",)}
    with pytest.raises(gradc.ShapeError) as caught:
        fn(np.ones((10, 4)), np.ones(4))
    assert caught.value.message == ("X has shape (10, 4); expected (d0, d0); d0 ties X's two axes and w's axis "
                                    "because the example X was 4x4 and w was 4; pass shapes= to name them apart")
    with pytest.raises(gradc.ShapeError, match=r"^X has shape \(4, 4, 1\); expected \(d0, d0\)$"):
        fn(np.ones((4, 4, 1)), np.ones(4))  # another rank: no equality to blame
    named = gradc.compile("sum(X@w)", example={"X": np.ones((4, 4)), "w": np.ones(4)}, shapes={"X": ("n", "d0")})
    with pytest.raises(gradc.ShapeError, match=r"^w has shape \(3,\); expected \(d0,\) = \(4,\)$"):
        named(np.ones((10, 4)), np.ones(3))  # X's dims were given, so the example tied nothing of w's


# 9. (issue 15) The step-through page from Python.
def test_render_html_is_the_step_through_page():
    page = gradc.compile("x / (x + y)").render(html=True, at={"x": -1, "y": 2})
    assert isinstance(page, LessonPage)
    assert str(page).lstrip().lower().startswith("<!doctype html") and "<svg" in str(page)
    assert page._repr_html_().startswith("<iframe srcdoc=")
    assert "html=True" in gradc.CompiledFunction.render.__doc__
    with pytest.raises(gradc.GradcError, match="needs the point"):
        gradc.compile("x / (x + y)").render(html=True)
