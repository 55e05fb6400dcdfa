"""Derived graphs (jvp, vjp, jacobian, hvp, hessian) lowered for NumPy, and how NumPy writes their functions'
own parts (gradc/backend/derived.py holds what the functions compute)."""
from dataclasses import replace

from gradc.backend import derived as functions
from gradc.backend.numpy.specialize import lower
from gradc.backend.numpy.writer import Context, Writer
from gradc.backend.writer import Basis, Line
from gradc.transform.derivatives import build


def derive(simplified, wrt, kinds):
    """The lowered Derived graphs of `kinds` (see `derivatives.KINDS`) for the simplified forward graph."""
    return [replace(derived, graph=lower(derived.graph)) for derived in build(simplified, wrt, kinds)]


class NumpySpelling(functions.Spelling):
    """Blocks allocated as zeros and filled in place, element by element of `np.ndindex`."""

    def writer(self, graph, plan, readable):
        return Writer(graph, plan, readable=readable)

    def direction(self, target, what, given, like):
        """`v_x = _direction('v["x"]', v["x"], x)`: a direction checked against its partner (kept: it checks)."""
        return Line("assign", target, f"_direction({what}, {given}, {like})", helpers=("_direction",), keep=True)

    def loop(self, writer, index, dims, vector, body, blocks, trailing):
        shape = Context(writer.plan.dims).shape
        at = f"(...,) + {index}" if trailing else index
        before = [Line("assign", name, f"np.zeros({shape(whole)})") for name, _, whole in blocks]
        opening = [Line("assign", vector, f"np.zeros({shape(dims)})"), Line("raw", expr=f"{vector}[{index}] = 1.0")]
        stores = [Line("raw", expr=f"{name}[{at}] = {writer.ref(node)}") for name, node, _ in blocks if node is not None]
        return Basis(before, index, f"np.ndindex({shape(dims)})", opening + body + stores)


def function(derived, inputs, entry=(), readable=False):
    """The Function record computing `derived`, written for NumPy."""
    return functions.function(derived, inputs, NumpySpelling(), entry, readable)


BUILDERS = {kind: function for kind in functions.EMITTERS}  # emit's builder table, for the derived kinds
