"""The driver that rebuilds a graph through the rewrite rules (gradc/rules.py) to a fixpoint.

Rules run while a node is being built (see `Graph.add`), so rebuilding a graph applies them
bottom-up; identical nodes are shared as they are built, which is common-subexpression elimination,
and only what the outputs need is rebuilt, which is dead-code elimination.
"""
from gradc.graph import rebuild
from gradc.ops import Value
from gradc.rules import RULES

def rewriter(phases):
    """A `Graph.rewrite` hook applying the rules of `phases`; a rule may not change a node's shape."""
    def rewrite(graph, op_name, args, attrs, shape):
        values = [Value(graph, a) for a in args]
        for phase, function in RULES.get(op_name, ()):
            if phase not in phases:
                continue
            result = function(*values, **attrs)
            if result is not None and result.shape == shape:
                return result.node
        return None
    return rewrite


def simplify(graph, phases=("canonicalize", "stabilize"), extra=None):
    """Rebuild `graph` through the rules of `phases`.

    One pass reaches the fixpoint: a rule sees only a node's operands (and theirs), which are final when
    the node is built, and whatever a rule builds goes through the rules too.
    """
    return rebuild(graph, rewriter(phases), extra)[0]


def lower(graph):
    """Replace composite ops by primitives (after differentiation), simplify again, then the final rewrites.

    The final rewrites (bool masks in products) make nodes that no other rule may take apart.
    """
    # NOTE: not stabilize again: it would turn log(sum(exp(z - max))) back into logsumexp, which has no emit.
    return simplify(simplify(simplify(graph, ("lower",)), ("canonicalize", "lower")), ("final",))
