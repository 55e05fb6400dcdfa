"""Gathers by integer indices (gradc/ops/gathers.py) at the Value level: NumPy's meaning, repeated indices
adding up in the adjoint, and the cross-entropy of integer labels against its closed-form gradient."""
import numpy as np

from gradc.backend.interpret import evaluate
from gradc.graph import Graph
from gradc.ops import Value, call
from gradc.transform.differentiate import differentiate


def test_take_means_numpy_take_from_its_documentation():
    # numpy.take's docs: a = [4, 3, 5, 7, 6, 8]; np.take(a, [0, 1, 4]) -> [4, 3, 6]
    graph = Graph()
    a, indices = Value(graph, graph.input("a", (6,))), Value(graph, graph.input("i", (3,)))
    out = call("take", a, indices, axis=0)
    graph.outputs = [out.node]
    values = evaluate(graph, {"a": np.array([4.0, 3, 5, 7, 6, 8]), "i": np.array([0, 1, 4])})
    np.testing.assert_array_equal(values[out.node], [4.0, 3.0, 6.0])


def test_repeated_indices_add_up_in_the_gradient():
    graph = Graph()
    x, labels = Value(graph, graph.input("x", (3,))), Value(graph, graph.input("labels", (4,)))
    weight = Value(graph, graph.input("W", (4,)))
    loss = call("sum", weight * call("take", x, labels, axis=0), axis=None, keepdims=False)
    graph.outputs = [loss.node]
    differentiate(graph, ["x"])
    W = np.array([1.0, 10.0, 100.0, 1000.0])
    grad = evaluate(graph, {"x": np.ones(3), "labels": np.array([2, 0, 2, 2]), "W": W})[graph.outputs[1]]
    np.testing.assert_array_equal(grad, [10.0, 0.0, 1101.0])  # a plain assignment would keep only 1000


def test_cross_entropy_of_integer_labels_matches_its_closed_form(rng):
    # -mean(log_softmax(Z)[i, labels[i]]): the gradient is (softmax(Z) - onehot(labels)) / n.
    n, c = 5, 3
    graph = Graph()
    Z, labels = Value(graph, graph.input("Z", (n, c))), Value(graph, graph.input("labels", (n,)))
    rows = call("log_softmax", Z, axis=1)
    picked = call("sum", rows * call("take", call("eye", shape=(c, c), like=Z), labels, axis=0), axis=None,
                  keepdims=False)
    graph.outputs = [(-picked / float(n)).node]
    differentiate(graph, ["Z"])
    Z_value, label_value = rng.standard_normal((n, c)), np.array([0, 2, 2, 1, 0])
    values = evaluate(graph, {"Z": Z_value, "labels": label_value})
    p = np.exp(Z_value) / np.exp(Z_value).sum(axis=1, keepdims=True)
    expected_loss = -np.mean(np.log(p)[np.arange(n), label_value])
    np.testing.assert_allclose(values[graph.outputs[0]], expected_loss, rtol=1e-12)
    np.testing.assert_allclose(values[graph.outputs[1]], (p - np.eye(c)[label_value]) / n, atol=1e-12)
