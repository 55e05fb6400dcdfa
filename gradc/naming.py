"""Every naming convention of the generated code, in one place (as tangent's naming.py holds its own).

Inputs and the names the source gave keep their names; adjoints are `g_<name>`, the numbered partials summed
where a value branches `g_<name>_<k>`, tangents `d_<name>`; every other line is `t1, t2, ...`. A `Names`
hands them out so that none clashes with an input, a dimension or an identifier the module uses itself.
"""
from dataclasses import dataclass

from gradc.errors import ShapeError

# Names the generated module itself uses; an input may not shadow them.
# NOTE: also the builtins generated code calls; tests/test_trust_language.py checks every module against it.
RESERVED = frozenset({"np", "numpy", "float", "max", "min", "abs", "len", "range", "isinstance", "ValueError",
                      "TypeError", "INPUTS", "WRT", "forward", "value_and_grad", "gradient", "jvp", "vjp", "hvp",
                      "hessian"})


@dataclass(frozen=True)
class Alias:
    """A line `name = value` naming an existing value by its role in the backward pass (`g_t1 = z`)."""
    name: str
    value: int  # the node whose value the line names
    consumer: object  # the forward node whose rule handed the value over (the line's group), or None


class Names:
    """Hands out identifiers that cannot clash with inputs, dimensions or the module's own names."""

    def __init__(self, taken):
        self.taken = set(taken) | RESERVED
        self.counter = 0

    def claim(self, wanted):
        name, k = wanted, 1
        while name in self.taken:
            k += 1
            name = f"{wanted}_{k}"
        self.taken.add(name)
        return name

    def temporary(self):
        self.counter += 1
        while f"t{self.counter}" in self.taken:
            self.counter += 1
        return self.claim(f"t{self.counter}")


def adjoint_name(name):
    """`g_x` for x; the adjoint of an adjoint is named after the value (`g_x`, not `g_g_x`)."""
    return f"g_{_stem(name)}"


def partial_name(name, k):
    """`g_x_2`: the k-th partial of x's adjoint, where x feeds several consumers."""
    return f"g_{_stem(name)}_{k}"


def tangent_name(name):
    """`d_x`: the tangent of x in forward mode."""
    return f"d_{name}"


def _stem(name):
    return name[2:] if name.startswith("g_") else name


def dimension_names(graph):
    """Dimension name -> the variable that holds it, in order of first appearance among the inputs."""
    variables = {}
    for name, node in graph.inputs.items():
        for dim in graph.shape(node):
            if isinstance(dim, str) and dim not in variables:
                if dim in graph.inputs or dim in RESERVED:
                    raise ShapeError(f"dimension '{dim}' has the name of an input or of gradc's own; rename it")
                variables[dim] = dim
    return variables
