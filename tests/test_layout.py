"""The house's rules, read from the source with `ast`: imports go one way, and each room keeps to its concern."""
import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gradc"
FOUNDATION = ("gradc.errors", "gradc.version", "gradc.shapes", "gradc.naming", "gradc.graph", "gradc.ops")
# room -> the rooms it may never import
FORBIDDEN = {
    FOUNDATION: ("gradc.frontend", "gradc.transform", "gradc.backend", "gradc.pipeline", "gradc.api",
                 "gradc.derivative_methods", "gradc.explain", "gradc.viz", "gradc.optim", "gradc.cli",
                 "gradc.gradcheck"),
    ("gradc.frontend",): ("gradc.transform", "gradc.backend", "gradc.pipeline", "gradc.api", "gradc.explain",
                          "gradc.viz", "gradc.optim", "gradc.cli"),
    ("gradc.transform",): ("gradc.frontend", "gradc.backend", "gradc.pipeline", "gradc.api", "gradc.explain",
                           "gradc.viz", "gradc.optim", "gradc.cli"),
    ("gradc.backend",): ("gradc.frontend", "gradc.pipeline", "gradc.api", "gradc.derivative_methods",
                         "gradc.explain", "gradc.viz", "gradc.optim", "gradc.cli"),
    ("gradc.viz",): ("gradc.api", "gradc.optim", "gradc.cli"),
    ("gradc.optim",): ("gradc.api", "gradc.viz", "gradc.cli"),
    ("gradc.explain", "gradc.pipeline", "gradc.api", "gradc.derivative_methods"): ("gradc.cli",),
}
# What may be imported inside a function: optional extras, which gradc works without.
OPTIONAL = ("matplotlib", "scipy", "tqdm", "dask", "distributed", "zarr", "array_api_compat", "cupy")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path):
    """(imported module, line, inside a function) for each import statement of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if n is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in inside) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # `from gradc.frontend import pyfunc` imports the module gradc.frontend.pyfunc
                submodule = f"{node.module}.{alias.name}"
                target = submodule if submodule in MODULES else node.module
                found.append((target, node.lineno, id(node) in inside))
    return found


def internal_graph():
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for name, path in MODULES.items():
        for target, _, _ in imports(path):
            if target in MODULES and target != name:
                graph.add_edge(name, target)
    return graph


def within(name, rooms):
    return any(name == room or name.startswith(room + ".") for room in rooms)


def test_the_import_graph_is_acyclic():
    cycles = list(nx.simple_cycles(internal_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles)


@pytest.mark.parametrize("rooms", list(FORBIDDEN), ids=lambda rooms: rooms[0])
def test_no_room_imports_one_above_it(rooms):
    wrong = [f"{name} imports {target}" for name, target in internal_graph().edges
             if within(name, rooms) and within(target, FORBIDDEN[rooms])]
    assert not wrong


def test_argparse_only_under_cli():
    wrong = [name for name, path in MODULES.items()
             if not within(name, ("gradc.cli",)) and any(t == "argparse" for t, _, _ in imports(path))]
    assert not wrong


def test_no_import_inside_a_function_but_of_an_optional_extra():
    wrong = [f"{name}:{line} imports {target}" for name, path in MODULES.items()
             for target, line, inside in imports(path) if inside and target.split(".")[0] not in OPTIONAL]
    assert not wrong


def test_a_second_backend_would_be_a_sibling_folder():
    """Nothing outside backend/ reaches into the NumPy backend's emission but the compiler's wiring."""
    wiring = ("gradc.pipeline", "gradc.derivative_methods", "gradc.api", "gradc.viz", "gradc.backend")
    wrong = [f"{name} imports {target}" for name, target in internal_graph().edges
             if within(target, ("gradc.backend.numpy",)) and not within(name, wiring)]
    assert not wrong


def test_the_wheel_carries_every_folder_of_modules():
    """pyproject's package list names every folder holding modules: one left out ships a wheel without it
    (the array-api backend was, while the editable checkout had it)."""
    import tomllib
    declared = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(PACKAGE.parent).parts) for p in PACKAGE.rglob("*.py")}
    assert folders <= declared, sorted(folders - declared)
    assert "gradc.templates" in declared and (PACKAGE / "templates" / "module.py.j2").exists()
