"""Names in generated code: a value that simplifies onto another one never gives a name two meanings.

Rewrites after differentiation can merge forward nodes (`t = 2*u - u` becomes `u`); the backward pass's
recorded roles then claim one name for two values. These are the trust issue's reproducers, checked
against central differences of the compiled value, and a static check that no generated function assigns
a name twice (except a branch sum continued on a further line, which reads its own name).
"""
import ast

import numpy as np
import pytest

import gradc
from helpers import numeric_grad

MERGING = {
    "twice_minus_once": ("t = 2*u - u; sum(exp(u)) + sum(2*t - t)", {"u": ("n",)}),
    "add_then_subtract": ("t = (u + w) - w; sum(exp(u)) + sum(t*t) + sum(w*t)", {"u": ("n",), "w": ("n",)}),
    "of_a_sine": ("s = sin(u); t = 2*s - s; sum(exp(s)) + sum(t*u)", {"u": ("n",)}),
    "of_a_product": ("s = u*a; t = 2*s - s; sum(exp(s)) + sum(t*t)", {"u": ("n",)}),
    "inside_a_square": ("sum(2*u - u) + sum((v*(u-v) + (2*u - u))**2)", {"u": ("n",), "v": ("n",)}),
}


def assigned_twice(text):
    """(function, name) pairs where a function assigns a name a second time without reading it."""
    found = []
    for function in ast.parse(text).body:
        if not isinstance(function, ast.FunctionDef):
            continue
        seen = set(a.arg for a in function.args.args)
        for statement in function.body:
            if isinstance(statement, ast.Assign):
                reads = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
                for target in statement.targets:
                    for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                        if name in seen and name not in reads:
                            found.append((function.name, name))
                        seen.add(name)
    return found


def test_the_issue_reproducer_gives_exp_plus_one():
    fn = gradc.compile(MERGING["twice_minus_once"][0], shapes=MERGING["twice_minus_once"][1])
    u = np.array([0.3, -1.2, 0.5, 2.0])
    value, grad = fn.value_and_grad(u=u)
    assert value == pytest.approx(np.exp(u).sum() + u.sum())
    np.testing.assert_allclose(grad["u"], np.exp(u) + 1.0, rtol=1e-14)


@pytest.mark.parametrize("case", sorted(MERGING))
def test_merged_values_keep_their_gradients(case, rng):
    source, shapes = MERGING[case]
    fn = gradc.compile(source, shapes=shapes)
    point = {name: rng.standard_normal(4) if name in shapes else float(rng.standard_normal())
             for name in fn.inputs}
    _, grad = fn.value_and_grad(**point)
    for name in fn.inputs:
        np.testing.assert_allclose(grad[name], numeric_grad(fn.forward, point, name), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", sorted(MERGING))
def test_no_name_is_assigned_twice(case):
    source, shapes = MERGING[case]
    text = gradc.compile(source, shapes=shapes).source_with(["jvp", "vjp", "hvp", "hessian"])
    assert assigned_twice(text) == []


def test_the_static_check_finds_a_second_assignment():
    assert assigned_twice("def f(u):\n    g = 2.0\n    g = u\n    return g\n") == [("f", "g")]
    assert assigned_twice("def f(u):\n    g = u\n    g = g + u\n    return g\n") == []
