"""The op table as `gradc ops` lists it: the op modules grouped under headings, in reading order."""
import importlib
import pkgutil

import gradc.ops
from gradc.ops.registry import REGISTRY, Op

SECTIONS = (  # heading -> the op modules (gradc/ops/<name>.py) it gathers; a new module joins one
    ("Arithmetic and elementwise functions", ("elementwise", "functions")),
    ("Activations and softmax", ("activations", "nn")),
    ("Comparisons and masks", ("masks",)),
    ("Reductions", ("reduce", "statistics", "norms", "cumulative")),
    ("Linear algebra", ("contractions", "linalg", "solves")),
    ("Indexing and gathers", ("indexing", "gathers")),
    ("Shapes", ("shaping",)),
    ("Making and joining arrays", ("construction", "joins")),
)
NOT_OPS = frozenset({"catalog", "domain", "formula", "registry"})  # the machinery beside the entries


def op_modules():
    """The names of the modules under gradc/ops that hold op entries."""
    return sorted(info.name for info in pkgutil.iter_modules(gradc.ops.__path__) if info.name not in NOT_OPS)


def owners():
    """{op name: module name}: the module defining each entry. A module may import another's entry (activations
    uses sigmoid), but it registers later, so the defining module is the holder whose entries come first."""
    order = {name: index for index, name in enumerate(REGISTRY)}
    held = {}
    for module in op_modules():
        names = [value.name for value in vars(importlib.import_module(f"gradc.ops.{module}")).values()
                 if isinstance(value, Op)]
        held[module] = sorted(names, key=order.__getitem__)
    result = {}
    for module in sorted(held, key=lambda m: order[held[m][0]] if held[m] else len(order)):
        for name in held[module]:
            result.setdefault(name, module)
    return result


def sections():
    """[(heading, [Op])]: the public ops by section, each section in registration order."""
    module_of = owners()
    return [(heading, [op for op in REGISTRY.values() if op.names and module_of.get(op.name) in modules])
            for heading, modules in SECTIONS]
