"""The lecture's two-layer network written as plain NumPy functions, compiled by gradc and trained.

`f` is the network on one example, as in the lecture notes; gradc reads its source (it never calls it),
checks the compiled gradient against central differences, and shows the generated code. `loss` is the
same network over a batch of rows: decorated with `@gradc.gradient`, it is trained with
`gradc.optim.descent.minimize` (Adam, minibatches) to fit y = sin(3 x0) * x1 on 2-d inputs. Both functions are
ordinary NumPy code too: calling the originals gives the same numbers as the compiled ones.
Run: python examples/network_function.py
"""
import numpy as np

import gradc
from gradc.gradcheck import compare
from gradc.optim.descent import minimize

D, HIDDEN, K, N = 2, 24, 1, 400  # distinct sizes: shapes from examples name equal sizes alike


def f(x, W1, b1, W2, b2, y):
    """The lecture's network on one example: a ReLU layer, a linear layer, squared error."""
    h = np.maximum(W1 @ x + b1, 0)
    s = W2 @ h + b2
    return 0.5 * np.sum((s - y) ** 2)


EXAMPLE = {"X": np.zeros((N, D)), "W1": np.zeros((HIDDEN, D)), "b1": np.zeros(HIDDEN),
           "W2": np.zeros((K, HIDDEN)), "b2": np.zeros(K), "Y": np.zeros((N, K))}


@gradc.gradient(wrt=["W1", "b1", "W2", "b2"], example=EXAMPLE)
def loss(X, W1, b1, W2, b2, Y):
    """`f` averaged over the rows of X and Y (one example per row)."""
    H = np.maximum(X @ W1.T + b1, 0)
    S = H @ W2.T + b2
    return 0.5 * np.mean(np.sum((S - Y) ** 2, axis=1))


def init(rng):
    return {"W1": rng.normal(size=(HIDDEN, D)), "b1": rng.normal(size=HIDDEN) * 0.1,
            "W2": rng.normal(size=(K, HIDDEN)) / np.sqrt(HIDDEN), "b2": np.zeros(K)}


def main():
    rng = np.random.default_rng(0)
    params = init(rng)
    x, y = rng.normal(size=D), rng.normal(size=K)

    # 1. One example: shapes from example arrays, gradient checked against central differences.
    single = gradc.compile(f, example={"x": x, **params, "y": y})
    point = {"x": x, **params, "y": y}
    worst = max(row[5] for row in compare(single, point))
    print(f"f: inputs {single.inputs}; value {single.forward(**point):.6f} "
          f"(NumPy: {f(**point):.6f}); largest relative gradient error {worst:.1e}")
    code = single.source
    print(code[code.index("def value_and_grad"):code.index("def gradient")].rstrip())

    # 2. The batch loss at one row is f: the two compiled gradients agree.
    batch_grads = loss.grad(X=x[None, :], Y=y[None, :], **params)
    single_grads = single.grad(**point)
    assert all(np.allclose(batch_grads[name], single_grads[name]) for name in loss.wrt)

    # 3. Train on y = sin(3 x0) * x1.
    X = rng.uniform(-1, 1, size=(N, D))
    Y = (np.sin(3 * X[:, 0]) * X[:, 1])[:, None]
    before = loss(X=X, Y=Y, **params)
    result = minimize(loss, params, data={"X": X, "Y": Y}, method="adam", lr=0.01, batch_size=32,
                      epochs=300, seed=0, progress=False)
    after = loss(X=X, Y=Y, **result.params)
    print(f"trained: {result.reason}; {result.n_iter} updates; mean loss {before:.4f} -> {after:.4f} "
          f"(variance of y / 2: {0.5 * Y.var():.4f})")
    return before, after


if __name__ == "__main__":
    main()
