"""Buffer reuse: which lines may write their result into an operand's array that dies at that line.

`t2 = np.subtract(t1, y, out=t1)` allocates nothing, where `t2 = t1 - y` would fault in a fresh array:
on large arrays, new temporaries cost as much as the arithmetic, and they set the peak memory.
"""
from gradc.backend.numpy.lowerings import lowering_of
from gradc.backend.schedule import computed_reads


def plan_reuse(graph, nodes, keep):
    """{node: operand whose buffer it writes into} for the lines `nodes` of one function, in order.

    An operand qualifies when this line is its last use (directly or through a view written in place, such
    as `h.T`), it has the result's shape, it is an array this function computed (not an input, a view, or
    something a named view shares), and it is not in `keep` (returned values and the values behind alias
    names).
    """
    keep = set(keep)
    for node in list(keep):  # a kept view (a gradient returned as `t3.T`) keeps the array it views
        while graph.op(node).view and graph.args(node):
            node = graph.args(node)[0]
            keep.add(node)
    position = {node: i for i, node in enumerate(nodes)}
    last_use, viewed = {}, set()
    for node in nodes:
        for read in computed_reads(graph, node):
            last_use[read] = position[node]
            if graph.op(node).view:
                viewed.add(read)
    reuse, claimed = {}, set()
    for node in nodes:
        op = graph.op(node)
        args = graph.args(node)
        if not lowering_of(op).ufunc or graph.shape(node) == () or op.name == "accumulate" and len(args) != 2:
            continue
        for arg in args:
            if (arg in position and arg not in keep and arg not in viewed and arg not in claimed
                    and last_use.get(arg) == position[node] and graph.shape(arg) == graph.shape(node)
                    and not graph.op(arg).view):
                reuse[node] = arg
                claimed.add(arg)
                break
    return reuse
