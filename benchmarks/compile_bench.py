"""Compile-time figures: each workload, and generated expressions of 100, 1,000 and 10,000 nodes.

`gradc.compile` caches by its arguments, so a fresh compile needs the cache out of the way. `fresh_compile`
clears the cache (gradc.api._CACHE) or uses an uncached entry point when it can; otherwise it varies a
harmless trailing comment, which changes the cache key but not the graph. `cached_s` is reported beside it, so a bypass that did not
work shows up as fresh ~= cached.
"""
import ast
import itertools
import statistics
import sys
import time

from competitors import import_gradc

_counter = itertools.count()


def fresh_compile(source, wrt=None, shapes=None):
    """Compile `source` with gradc, bypassing its compile cache. Returns (fn, how)."""
    gradc = import_gradc()
    # NOTE: the module's cache first: a wrapper's __wrapped__ (gradc's error boundary) may still be cached
    cache = getattr(sys.modules.get(gradc.compile.__module__), "_CACHE", None)
    clear = cache.clear if isinstance(cache, dict) else getattr(gradc.compile, "cache_clear", None)
    if clear is not None:
        clear()
        return gradc.compile(source, wrt=wrt, shapes=shapes), "cache cleared"
    uncached = getattr(gradc.compile, "__wrapped__", None)
    if uncached is not None:
        return uncached(source, wrt=wrt, shapes=shapes), "uncached entry point"
    variant = f"{source}  # bench {next(_counter)}"
    return gradc.compile(variant, wrt=wrt, shapes=shapes), "varied trailing comment"


def time_compile(source, wrt=None, shapes=None, repeat=5):
    """Median seconds of a fresh compile, seconds of a cached one, and how the cache was bypassed."""
    gradc = import_gradc()
    fresh, how = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        _, how = fresh_compile(source, wrt, shapes)
        fresh.append(time.perf_counter() - t0)
    gradc.compile(source, wrt=wrt, shapes=shapes)
    t0 = time.perf_counter()
    gradc.compile(source, wrt=wrt, shapes=shapes)
    cached = time.perf_counter() - t0
    return {"fresh_s": statistics.median(fresh), "cached_s": cached, "how": how}


def count_nodes(source):
    """Expression nodes the way a graph sees them: operators, calls, names and constants (not `sin` itself)."""
    tree = ast.parse(source)
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    kinds = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant)
    return sum(1 for n in ast.walk(tree) if isinstance(n, kinds) and id(n) not in funcs)


def generated_expression(target_nodes, n_vars=10):
    """A sum of products, `1*x0*sin(x1) + 2*x1*exp(x2) + ...`, grown until it has `target_nodes` nodes.

    Distinct integer coefficients keep every term distinct, so CSE cannot shrink the sum away; each term
    is 7 nodes (coefficient, two names, a call, two products, and the `+` joining it).
    """
    funcs = ("sin", "exp", "tanh", "cos")
    terms, nodes = [], -1        # the first term needs no `+`
    for i in itertools.count():
        a, b = i % n_vars, (i * 7 + 3) % n_vars
        terms.append(f"{i + 1}*x{a}*{funcs[i % len(funcs)]}(x{b})")
        nodes += 7
        if nodes >= target_nodes:
            return " + ".join(terms)


def scaling(sizes=(100, 1_000, 10_000), repeat=3):
    """Compile times of generated expressions; one row per size, with errors reported, not raised."""
    rows = []
    limit = sys.getrecursionlimit()
    for size in sizes:
        src = generated_expression(size)
        row = {"target": size, "nodes": count_nodes(src), "chars": len(src)}
        try:
            row.update(time_compile(src, repeat=repeat if size < 10_000 else 1))
        except Exception as e:  # noqa: BLE001 - a failure is a result here
            row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
        finally:
            sys.setrecursionlimit(limit)
        rows.append(row)
    return rows
