"""Every op the NumPy backend can meet has a lowering there; the composite ones are lowered to primitives first."""
import pytest

from gradc.backend.numpy.lowerings import LOWERINGS, lowering_of
from gradc.errors import GradcError
from gradc.ops import REGISTRY

# Rewritten into primitives by the math's lower phase (transform/rules.py) before any backend sees them.
COMPOSITE = {"softmax", "log_softmax", "logsumexp"}


@pytest.mark.parametrize("name", [name for name in REGISTRY if name not in COMPOSITE])
def test_every_op_has_a_numpy_lowering(name):
    assert lowering_of(REGISTRY[name]).text


@pytest.mark.parametrize("name", sorted(COMPOSITE))
def test_a_composite_op_has_none_and_says_so(name):
    with pytest.raises(GradcError, match=f"'{name}' has no lowering for the NumPy backend"):
        lowering_of(REGISTRY[name])


def test_every_lowering_is_of_an_op():
    assert set(LOWERINGS) <= set(REGISTRY)


def test_a_ufunc_op_needs_no_lowering_of_its_own():
    exp = lowering_of(REGISTRY["exp"])
    assert (exp.text, exp.ufunc) == ("np.exp({0})", "exp")
    assert "exp" not in LOWERINGS
