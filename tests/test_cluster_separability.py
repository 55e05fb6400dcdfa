"""Separability over a data dimension, read from the graph (gradc.cluster.separability): no cluster needed."""
import subprocess
import sys

import numpy as np
import pytest

import gradc
from gradc.cluster.gradients import ClusterError
from gradc.cluster.separability import SeparabilityError, split
from gradc.explain import separability

ROWS = {"X": ("n", "d"), "y": ("n",), "w": ("d",), "W": ("d", "k"), "Y": ("n", "k"), "W1": ("d", "h"),
        "b1": ("h",), "W2": ("h", "k")}
PARAMS = ("w", "W", "W1", "b1", "W2", "lam")

# name -> (loss, one pass per step: the loss is one sum or mean itself)
SEPARABLE = {
    "least squares": ("mean((X@w - y)**2)", True),
    "logistic": ("mean(log(1 + exp(-y * (X@w))))", True),
    "softmax regression": ("mean(logsumexp(X@W, axis=1) - sum(Y * (X@W), axis=1))", True),
    "two-layer net": ("mean(logsumexp(tanh(X@W1 + b1)@W2, axis=1) - sum(Y * (tanh(X@W1 + b1)@W2), axis=1))", True),
    "ridge": ("mean((X@w - y)**2) + lam * sum(w**2)", False),
    "square of a sum": ("sum(X@w)**2", False),
    "mean with its count": ("sum(X@w - y) / sum(y**0)", False),
    "two sums": ("log(sum(exp(X@w))) - mean(y * (X@w))", False),
    "contraction over rows": ("sum((y @ X - w)**2) + sum(y)", False),
}
# name -> (loss, the coupling term the error names)
COUPLED = {
    "gram matrix": ("sum(X @ X.T)", "`X @ X.T`"),
    "max over rows": ("amax(X@w - y)", "`amax(X@w - y)`"),
    "softmax over rows": ("sum(softmax(X@W, axis=0) * Y)", "`softmax(X@W, axis=0)`"),
    "centred by its mean": ("sum((X@w - mean(X@w))**2)", "`mean(X@w)`"),
    "first row": ("sum(X[0] * w) + sum(y)", "`X[0]`"),
}


def compiled(source):
    shapes = {name: dims for name, dims in ROWS.items() if name in source.replace("(", " ").split() or name in source}
    fn = gradc.compile(source, shapes=shapes, strict=False)
    return gradc.compile(source, shapes=shapes, wrt=[n for n in fn.inputs if n in PARAMS], strict=False)


@pytest.mark.parametrize("name", SEPARABLE)
def test_a_sum_over_rows_is_separable_in_its_data_dimension(name):
    source, single = SEPARABLE[name]
    fn = compiled(source)
    assert fn.separable == ("n",)
    found = split(fn.stages.parsed, "n")
    assert found.single == single
    assert set(found.data) == {name for name in fn.inputs if name in ("X", "y", "Y")}
    assert "separable in n" in separability(fn)


@pytest.mark.parametrize("name", COUPLED)
def test_a_loss_that_mixes_rows_is_refused_naming_the_term(name):
    source, term = COUPLED[name]
    fn = compiled(source)
    assert fn.separable == ()
    assert separability(fn) == ""
    with pytest.raises(SeparabilityError) as caught:
        split(fn.stages.parsed, "n")
    assert term in caught.value.message and "couples the rows" in caught.value.message
    assert caught.value.column is not None  # it points into the source


def test_a_dimension_that_parameters_carry_is_no_data_dimension():
    # d is summed by X @ w, but w is a parameter: only n is a data dimension.
    fn = compiled("mean((X@w - y)**2)")
    assert fn.separable == ("n",)
    with pytest.raises(SeparabilityError, match="parameter w carries d"):
        split(fn.stages.parsed, "d", params=fn.wrt)


def test_a_vector_output_is_separable_in_nothing():
    assert gradc.compile("X@w", shapes=ROWS, strict=False).separable == ()


def test_gradc_explain_says_the_separable_dimension():
    run = subprocess.run([sys.executable, "-m", "gradc", "explain", "mean((X@w - y)**2)", "--shape", "X=n,d",
                          "--shape", "w=d", "--shape", "y=n", "--wrt", "w"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].startswith("separable in n: a sum (or mean) over the rows of X, y")


def test_dask_data_without_a_cluster_is_one_clear_error():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    try:
        distributed.default_client()
        pytest.skip("a Dask client is running in this process")
    except ValueError:
        pass
    fn = compiled("mean((X@w - y)**2)")
    with pytest.raises(ClusterError, match="Dask arrays need a running cluster"):
        fn.value_and_grad(X=da.zeros((8, 3), chunks=(4, 3)), y=da.zeros(8, chunks=4), w=np.zeros(3))
