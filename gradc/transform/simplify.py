"""The driver that rebuilds a graph through the rewrite rules (transform/rules.py, and a backend's) to a fixpoint.

Rules run while a node is being built (see `Graph.add`), so rebuilding a graph applies them
bottom-up; identical nodes are shared as they are built, which is common-subexpression elimination,
and only what the outputs need is rebuilt, which is dead-code elimination.
"""
from contextlib import contextmanager

from gradc.graph import rebuild
from gradc.ops import Value
from gradc.transform.rules import RULES

class Rewriter:
    """A `Graph.rewrite` hook applying the rules of `phases`; a rule may not change a node's shape.

    It is also where a rule finds the state of the rewriting in progress (`holding`): one per rewriting,
    reached through the graph being rewritten (`graph.rewrite`), never a module's global, so that graphs
    compiled in parallel threads share nothing.
    """

    def __init__(self, phases, tables=(RULES,)):
        self.phases = frozenset(phases)
        self.tables = tables
        self.holding = set()  # the rules holding back while they build their own (final) result

    def __call__(self, graph, op_name, args, attrs, shape):
        values = [Value(graph, a) for a in args]
        for table in self.tables:
            for phase, function in table.get(op_name, ()):
                if phase not in self.phases:
                    continue
                result = function(*values, **attrs)
                if result is not None and result.shape == shape:
                    return result.node
        return None

    @contextmanager
    def hold(self, name):
        """`name in self.holding` while the block runs: the rule `name` does not rewrite what it builds."""
        self.holding.add(name)
        try:
            yield
        finally:
            self.holding.discard(name)


rewriter = Rewriter


def simplify(graph, phases=("canonicalize", "stabilize"), extra=None, tables=(RULES,)):
    """Rebuild `graph` through the rules of `phases`.

    One pass reaches the fixpoint: a rule sees only a node's operands (and theirs), which are final when
    the node is built, and whatever a rule builds goes through the rules too.
    """
    return rebuild(graph, rewriter(phases, tables), extra)[0]


def lower(graph, backend_rules):
    """Replace composite ops by primitives (after differentiation), simplify again, share the factorizations,
    then the final rewrites.

    `backend_rules` is the backend's RuleTable, applied after the math's: its lower-phase rules make the code
    cheaper on that backend, and its final rewrites (NumPy's bool masks in products) make nodes that no other
    rule may take apart.
    """
    # NOTE: not stabilize again: it would turn log(sum(exp(z - max))) back into logsumexp, which has no emit.
    tables = (RULES, backend_rules)
    graph = simplify(graph, ("lower",), tables=tables)
    graph = simplify(graph, ("canonicalize", "lower"), tables=tables)
    return simplify(share_factorizations(graph, tables), ("final",), tables=tables)


def share_factorizations(graph, tables):
    """The graph through its share-phase rules (rules.py): where the gradient computes inv(X) (the adjoint of det,
    slogdet, inv), a solve with X finds it, built first, and becomes a product; a row sum of (P @ B.T) * A finds
    the A @ B that the forward pass computed before it."""
    order = graph.order()
    if not any(graph[node]["op"] in ("inv", "einsum") for node in order):
        return graph
    inverses = [node for node in order if graph[node]["op"] == "inv"]
    return rebuild(graph, rewriter(("share",), tables), first=inverses)[0]
