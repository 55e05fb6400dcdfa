"""Contractions: matmul (batched @), outer, dot, inner, tensordot, einsum (the sum of products all of them are), kron.

An einsum's spec names each axis of each operand by a letter ('ij,jk->ik'); a letter binds one dimension, and
the letters absent from the output are summed over. The graph holds only explicit specs (with '->' and no
'...': `explicit` writes NumPy's implicit and ellipsis forms out). The adjoint of operand k is again an einsum,
of the adjoint and the other operands, to operand k's letters; the products above reuse that rule where
their operands have more than two axes.
"""
import string

import numpy as np

from gradc import dimensions, shapes
from gradc.errors import ShapeError
from gradc.ops.domain import ANY
from gradc.ops.formula import ATOM, PRODUCT, Formula, Piece, function, infix
from gradc.ops.registry import Op, call, defop, each, linear, tangent_sum

LETTERS = string.ascii_letters  # NumPy's einsum takes these 52 letters


# einsum's specs
def split_spec(spec):
    """'ij,jk->ik' as (('ij', 'jk'), 'ik')."""
    inputs, output = spec.split("->")
    return tuple(inputs.split(",")), output


def join_spec(inputs, output):
    return ",".join(inputs) + "->" + output


def explicit(spec, operand_shapes):
    """NumPy's spec as the graph holds it: with its output ('ij,jk' sums the repeated letters: 'ij,jk->ik', the
    letters met once in alphabetical order) and '...' written out as letters of its own, one per broadcast axis.

    Raises ShapeError for a spec NumPy would refuse, naming what is wrong.
    """
    text = spec.replace(" ", "")
    if text.count("->") > 1 or any(c not in LETTERS + ",." for c in text.replace("->", "", 1)):
        raise ShapeError(f"einsum: the spec {spec!r} is not of the form 'ij,jk->ik' (letters, commas, one '->')")
    inputs, arrow, output = text.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(operand_shapes):
        raise ShapeError(f"einsum: the spec {spec!r} names {len(inputs)} operand(s), got {len(operand_shapes)}")
    if not arrow:
        letters = "".join(inputs).replace(".", "")
        output = ("..." if any("..." in term for term in inputs) else "") + \
            "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for term in inputs + [output]:
        if term.replace("...", "", 1).count(".") or term.count(".") % 3:
            raise ShapeError(f"einsum: {term!r} in {spec!r}: '.' only as one '...' per operand")
    if "..." in "".join(inputs) + output:
        inputs, output = _ellipsis_written_out(inputs, output, operand_shapes, spec)
    return join_spec(inputs, output)


def _ellipsis_written_out(inputs, output, operand_shapes, spec):
    """Each '...' as letters for the axes it stands for, aligned right and broadcast as NumPy does: the output's
    letter for an axis of the broadcast length, a letter of its own (summed, of length 1) where an operand's
    axis is 1 against a longer one."""
    spare = iter(c for c in LETTERS if c not in "".join(inputs) + output)
    covered = [len(s) - len(term.replace("...", "")) if "..." in term else 0 for term, s in zip(inputs, operand_shapes)]
    if min(covered, default=0) < 0:
        raise ShapeError(f"einsum: {spec!r}: an operand has fewer axes than its letters")
    batch = shapes.broadcast(*[s[len(term.split("...")[0]):][:n] for term, s, n in
                               zip(inputs, operand_shapes, covered) if "..." in term], op="einsum's ...")
    letters = [next(spare) for _ in batch]
    if "..." in output:
        output = output.replace("...", "".join(letters))
    elif any(d != 1 for d in batch):
        raise ShapeError(f"einsum: {spec!r} sums the axes of '...' away: write '...' in the output as well")
    written = []
    for term, s, n in zip(inputs, operand_shapes, covered):
        if "..." not in term:
            written.append(term)
            continue
        start = len(term.split("...")[0])
        own = [letter if s[start + i] == batch[len(batch) - n + i] else next(spare)
               for i, letter in enumerate(letters[len(batch) - n:])]
        written.append(term.replace("...", "".join(own)))
    return written, output


def einsum_shape(*operand_shapes, spec):
    inputs, output = split_spec(spec)
    if len(inputs) != len(operand_shapes):
        raise ShapeError(f"einsum: the spec {spec!r} names {len(inputs)} operand(s), got {len(operand_shapes)}")
    dims = {}
    for position, (term, shape) in enumerate(zip(inputs, operand_shapes)):
        if len(term) != len(shape):
            raise ShapeError(f"einsum: operand {position + 1} has shape {shapes.show(shape)}, but {term!r} in "
                             f"{spec!r} names {len(term)} axes")
        for letter, dim in zip(term, shape):
            if dims.setdefault(letter, dim) != dim:
                raise ShapeError(f"einsum: the letter {letter!r} in {spec!r} stands for both {dims[letter]} and "
                                 f"{dim} (give dimensions that must agree the same name)")
    for letter in output:
        if letter not in dims or output.count(letter) > 1:
            raise ShapeError(f"einsum: the output {output!r} of {spec!r} must name each operand's letter at most once")
    return tuple(dims[letter] for letter in output)


def einsum_vjp(g, out, *operands, spec):
    """Operand k's adjoint: einsum of g (with the output's letters) and the other operands, to k's letters.

    A letter repeated in operand k ('ii', a diagonal) is renamed apart and tied back by an identity matrix
    operand; a letter only operand k has (summed alone) comes back broadcast, by a vector of ones.
    """
    inputs, output = split_spec(spec)
    dims = dict(zip("".join(inputs), sum((o.shape for o in operands), ())))
    spare = [c for c in LETTERS if c not in spec]
    adjoints = []
    for k, term in enumerate(inputs):
        terms = [output] + [t for j, t in enumerate(inputs) if j != k]
        values = [g] + [o for j, o in enumerate(operands) if j != k]
        target = ""
        for letter in term:
            if letter in target:  # a diagonal: d x_ii gets the adjoint of the i-th diagonal element, off it 0
                fresh = spare.pop(0)
                terms.append(letter + fresh)
                values.append(call("eye", shape=(dims[letter], dims[letter]), like=g))
                letter = fresh
            target += letter
        for letter in target:
            if letter not in "".join(terms):
                terms.append(letter)
                values.append(call("ones", shape=(dims[letter],), like=g))
        adjoints.append(contract(join_spec(terms, target), *values))
    return tuple(adjoints)


def einsum_jvp(tangents, out, *operands, spec):
    """Linear in each operand: the sum of einsums with one operand replaced by its tangent."""
    return tangent_sum(*(contract(spec, *operands[:k], t, *operands[k + 1:])
                         for k, t in enumerate(tangents) if t is not None))


def rearranges(spec):
    """A spec of one operand that sums nothing ('ij->ji', 'ii->i'): NumPy's einsum returns a view of it."""
    inputs, output = split_spec(spec)
    return len(inputs) == 1 and set(output) == set(inputs[0])


def contract(spec, *values):
    """einsum(spec, *values) in the values' graph; a spec that is a copy of its one operand is that operand."""
    inputs, output = split_spec(spec)
    if inputs == (output,):
        return values[0]
    return call("einsum", *values, spec=spec)


def _einsum_text(p, node, *operands, spec):
    return Piece(f"einsum({spec!r}, {', '.join(o.text for o in operands)})", ATOM)


def _einsum_latex(p, node, *operands, spec):
    arrow = spec.replace("->", r"\to ")
    return Piece(rf"\operatorname{{einsum}}_{{{arrow}}}\left({', '.join(o.text for o in operands)}\right)", ATOM)


EINSUM = defop(Op(name="einsum", arity=-1, shape=einsum_shape, impl=lambda *arrays, spec: np.einsum(spec, *arrays),
                  vjp=einsum_vjp, jvp=einsum_jvp, symbol="Σ∏",
                  doc="einsum('ij,jk->ik', a, b, ...): products summed over the letters absent from the output "
                      "(implicit specs, repeated letters, '...')",
                  names=("einsum",),
                  formula=Formula(_einsum_text, _einsum_latex), domain=(ANY,), defined_everywhere=True))


# matmul: a @ b, batched over leading axes
def matmul_shape(a, b):
    if not a or not b:
        raise ShapeError(f"@: operands must be vectors or matrices, got shapes {shapes.show(a)} and {shapes.show(b)}")
    inner_a, inner_b = a[-1], b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        raise ShapeError(f"@: shapes {shapes.show(a)} and {shapes.show(b)} do not align "
                         f"({inner_a} != {inner_b}; give dimensions that must agree the same name)")
    batch = shapes.broadcast(a[:-2], b[:-2], op="@ (its batch axes)")
    return batch + a[-2:-1] + b[-1:] * (len(b) > 1)


def matmul_spec(a, b):
    """The einsum spec of a @ b for shapes a and b: batch letters aligned right, 'ik,kj->ij' on the last axes."""
    batch = shapes.broadcast(a[:-2], b[:-2])
    letters = LETTERS[3:3 + len(batch)]
    spare = iter(LETTERS[3 + len(batch):])

    def batch_letters(shape):
        own = shape[:-2]
        return "".join(letter if d == whole else next(spare)  # an axis of 1 against a longer one: summed apart
                       for letter, d, whole in zip(letters[len(batch) - len(own):], own, batch[len(batch) - len(own):]))

    left = batch_letters(a) + "i" * (len(a) > 1) + "k"
    right = batch_letters(b) + "k" + "j" * (len(b) > 1)
    return join_spec((left, right), letters + "i" * (len(a) > 1) + "j" * (len(b) > 1))


def _matrix_transpose(x):
    return x.T if x.ndim == 2 else call("swapaxes", x, axis1=-1, axis2=-2)


def _matmul_vjp(g, out, a, b):
    if a.ndim >= 2 and b.ndim >= 2:  # batched: the batch axes a or b broadcast are summed by sum_to
        return g @ _matrix_transpose(b), _matrix_transpose(a) @ g
    if a.ndim > 2 or b.ndim > 2:  # a stack of matrices and a vector
        return einsum_vjp(g, out, a, b, spec=matmul_spec(a.shape, b.shape))
    if a.ndim == 2:  # matrix @ vector
        return call("outer", g, b), a.T @ g
    if b.ndim == 2:  # vector @ matrix
        return b @ g, call("outer", a, g)
    return g * b, g * a  # vector @ vector


MATMUL = defop(Op(name="matmul", arity=2, shape=matmul_shape, impl=np.matmul,
                  vjp=_matmul_vjp, jvp=lambda t, out, a, b: each(t, lambda ta: ta @ b, lambda tb: a @ tb),
                  symbol="@", doc="a @ b or matmul(a, b): matrix products, batched over leading axes (broadcast)",
                  names=("matmul",), operator="@", formula=infix("@", "", PRODUCT), domain=(ANY, ANY),
                  defined_everywhere=True))


# NOTE: the graph's outer takes vectors only; the parser flattens other operands first, as np.outer does.
def _outer_shape(a, b):
    if len(a) != 1 or len(b) != 1:
        raise ShapeError(f"outer: operands must be vectors, got {shapes.show(a)} and {shapes.show(b)} "
                         "(ravel them, as np.outer does, or einsum('ij,kl->ijkl', a, b) to keep the axes)")
    return a + b


# Written `_outer(a, b)`, a helper in the module (templates/helpers.py.j2) that beats np.outer at every size.
OUTER = defop(Op(name="outer", arity=2, shape=_outer_shape, impl=np.outer,
                 vjp=lambda g, out, a, b: (g @ b, a @ g),
                 jvp=lambda t, out, a, b: each(t, lambda ta: call("outer", ta, b), lambda tb: call("outer", a, tb)),
                 symbol="⊗", doc="outer(a, b): outer product, of the operands flattened as NumPy does", names=("outer",),
                 formula=Formula("outer({arguments})", r"{0:atom} {1:atom}^\top", ATOM, latex_prec=PRODUCT),
                 domain=(ANY, ANY), defined_everywhere=True))


# dot and inner: NumPy's older products, each an einsum by the operands' shapes (a scalar: a product)
def dot_spec(a, b):
    """np.dot's contraction: the last axis of a with the second-to-last of b (b's only one for a vector)."""
    left = LETTERS[:len(a) - 1] + "z"
    rest = LETTERS[len(a) - 1:len(a) + len(b) - 2]
    right = rest[:len(b) - 2] + "z" + rest[len(b) - 2:] if len(b) > 1 else "z"
    return join_spec((left, right), left[:-1] + right.replace("z", ""))


def inner_spec(a, b):
    """np.inner's contraction: the last axes of a and b."""
    left = LETTERS[:len(a) - 1] + "z"
    right = LETTERS[len(a) - 1:len(a) + len(b) - 2] + "z"
    return join_spec((left, right), left[:-1] + right[:-1])


def product_shape(name, spec_of):
    """The shape rule of dot or inner: a scalar operand scales the other; else its einsum's shape."""
    def shape(a, b):
        if a == () or b == ():
            return a or b
        if a[-1] != b[-1 if len(b) == 1 or name == "inner" else -2]:
            contracted = "last axes" if name == "inner" else "last axis of a and the second-to-last of b"
            raise ShapeError(f"{name}: shapes {shapes.show(a)} and {shapes.show(b)} do not align over the "
                             f"{contracted} (give dimensions that must agree the same name)")
        return einsum_shape(a, b, spec=spec_of(a, b))
    return shape


def product_rules(spec_of):
    """The VJP and JVP of dot or inner: a product's rules where an operand is a scalar, else its einsum's."""
    def vjp(g, out, a, b):
        if a.ndim == 0 or b.ndim == 0:
            return g * b, g * a  # differentiation sums the scalar's contribution down
        return einsum_vjp(g, out, a, b, spec=spec_of(a.shape, b.shape))

    def jvp(tangents, out, a, b):
        if a.ndim == 0 or b.ndim == 0:
            return each(tangents, lambda ta: ta * b, lambda tb: a * tb)
        return einsum_jvp(tangents, out, a, b, spec=spec_of(a.shape, b.shape))
    return vjp, jvp


_DOT_VJP, _DOT_JVP = product_rules(dot_spec)
DOT = defop(Op(name="dot", arity=2, shape=product_shape("dot", dot_spec), impl=np.dot, vjp=_DOT_VJP, jvp=_DOT_JVP,
               symbol="dot", doc="dot(a, b): a @ b for vectors and matrices; a * b for a scalar; over the last axis "
                                 "of a and the second-to-last of b for more axes",
               names=("dot",), formula=Formula("dot({arguments})", r"{0:atom} \cdot {1:atom}", ATOM,
                                               latex_prec=PRODUCT),
               domain=(ANY, ANY), defined_everywhere=True))
_INNER_VJP, _INNER_JVP = product_rules(inner_spec)
INNER = defop(Op(name="inner", arity=2, shape=product_shape("inner", inner_spec), impl=np.inner, vjp=_INNER_VJP,
                 jvp=_INNER_JVP, symbol="⟨⟩",
                 doc="inner(a, b): sum over the last axes of a and b; a * b for a scalar",
                 names=("inner",), formula=Formula("inner({arguments})", r"\left\langle {0}, {1}\right\rangle"),
                 domain=(ANY, ANY), defined_everywhere=True))


# tensordot: the sum over pairs of axes, NumPy's axes=N (the last N of a with the first N of b) or (a's, b's)
def _axis_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ShapeError(f"tensordot: axes must be an int or a pair of axis lists, as axes=([1, 0], [0, 1]); "
                         f"got {value!r}")
    return int(value)


def tensordot_axes(a, b, axes):
    """`axes` as two tuples of non-negative axes, a's and b's, paired in order; checked against the shapes."""
    if not isinstance(axes, tuple):
        count = _axis_number(axes)
        if not 0 <= count <= min(len(a), len(b)):
            raise ShapeError(f"tensordot: axes={count} needs operands of at least {count} axes, got shapes "
                             f"{shapes.show(a)} and {shapes.show(b)}")
        return tuple(range(len(a) - count, len(a))), tuple(range(count))
    if len(axes) != 2:
        raise ShapeError(f"tensordot: axes must be an int or a pair of axis lists, as axes=([1, 0], [0, 1]); "
                         f"got {axes!r}")
    pair = []
    for given, shape, which in ((axes[0], a, "a"), (axes[1], b, "b")):
        listed = tuple(_axis_number(x) for x in (given if isinstance(given, tuple) else (given,)))
        if any(not -len(shape) <= x < len(shape) for x in listed) or len(set(x % max(len(shape), 1) for x in listed)) \
                != len(listed):
            raise ShapeError(f"tensordot: the axes {listed} of {which} are out of range or repeated for shape "
                             f"{shapes.show(shape)}")
        pair.append(tuple(x % len(shape) for x in listed))
    if len(pair[0]) != len(pair[1]):
        raise ShapeError(f"tensordot: axes pairs {len(pair[0])} axes of a with {len(pair[1])} of b; give as many")
    return tuple(pair)


def tensordot_spec(a, b, axes):
    """The einsum spec of tensordot(a, b, axes): b's paired axes take the letters of a's."""
    left, right = tensordot_axes(a, b, axes)
    for i, j in zip(left, right):
        if a[i] != b[j]:
            raise ShapeError(f"tensordot: axis {i} of a ({a[i]}) and axis {j} of b ({b[j]}) are summed together but "
                             f"differ (give dimensions that must agree the same name)")
    first = LETTERS[:len(a)]
    spare = iter(LETTERS[len(a):])
    paired = dict(zip(right, (first[i] for i in left)))
    second = "".join(paired.get(j) or next(spare) for j in range(len(b)))
    output = "".join(c for i, c in enumerate(first) if i not in left) + \
        "".join(c for j, c in enumerate(second) if j not in right)
    return join_spec((first, second), output)


TENSORDOT = defop(Op(name="tensordot", arity=2,
                     shape=lambda a, b, *, axes: einsum_shape(a, b, spec=tensordot_spec(a, b, axes)),
                     impl=lambda a, b, *, axes: np.tensordot(a, b, axes=tensordot_axes(a.shape, b.shape, axes)),
                     vjp=lambda g, out, a, b, *, axes: einsum_vjp(g, out, a, b, spec=tensordot_spec(a.shape, b.shape,
                                                                                                     axes)),
                     jvp=lambda t, out, a, b, *, axes: einsum_jvp(t, out, a, b, spec=tensordot_spec(a.shape, b.shape,
                                                                                                    axes)),
                     symbol="⊗Σ", doc="tensordot(a, b, axes=2): sum over the last axes of a and the first of b "
                                      "(axes=N), or over the pairs axes=([1, 0], [0, 1])",
                     names=("tensordot",), keywords=(("axes", 2),), positional=1,
                     formula=function("tensordot"), domain=(ANY, ANY), defined_everywhere=True))


# kron: every product of an element of a with one of b, blocks laid out as NumPy's np.kron lays them
def padded_shapes(a, b):
    """a and b given leading axes of 1 to one number of axes, as np.kron pads the shorter."""
    ndim = max(len(a), len(b))
    return (1,) * (ndim - len(a)) + tuple(a), (1,) * (ndim - len(b)) + tuple(b)


def _kron_shape(a, b):
    return tuple(dimensions.multiply(x, y) for x, y in zip(*padded_shapes(a, b)))


def _kron_vjp(g, out, a, b):
    """out[i*p + k, j*q + l] = a[i, j] b[k, l]: g with each axis split in two (a's, b's) is an einsum's adjoint."""
    if a.ndim == 0 or b.ndim == 0:
        return g * b, g * a  # a scalar operand scales the other
    pa, pb = padded_shapes(a.shape, b.shape)
    pieces = call("split_axes", g, parts=tuple(zip(pa, pb)))
    wide_a = a if len(pa) == a.ndim else call("expand_dims", a, axis=tuple(range(len(pa) - a.ndim)))
    wide_b = b if len(pb) == b.ndim else call("expand_dims", b, axis=tuple(range(len(pb) - b.ndim)))
    left, right = LETTERS[:len(pa)], LETTERS[len(pa):2 * len(pa)]
    split = "".join(x + y for x, y in zip(left, right))
    return (contract(join_spec((split, right), left), pieces, wide_b),
            contract(join_spec((split, left), right), pieces, wide_a))


KRON = defop(Op(name="kron", arity=2, shape=_kron_shape, impl=np.kron, vjp=_kron_vjp,
                jvp=lambda t, out, a, b: each(t, lambda ta: call("kron", ta, b), lambda tb: call("kron", a, tb)),
                symbol="⊗", doc="kron(a, b): the Kronecker product, blocks a[i, j] * b",
                names=("kron",), formula=Formula("kron({arguments})", r"{0:atom} \otimes {1:atom}", ATOM,
                                                 latex_prec=PRODUCT),
                domain=(ANY, ANY), defined_everywhere=True))


def _split_shape(x, *, parts):
    if len(x) != len(parts) or any(d != dimensions.multiply(*pair) for d, pair in zip(x, parts)):
        raise ShapeError(f"split_axes: shape {shapes.show(x)} does not split into {parts}")
    return tuple(d for pair in parts for d in pair)


def merged_shape(x):
    return tuple(dimensions.multiply(x[i], x[i + 1]) for i in range(0, len(x), 2))


# kron's adjoint: each axis of length a*b split into two, (a, b), and back (a reshape either way).
SPLIT_AXES = defop(Op(name="split_axes", arity=1, shape=_split_shape,
                      impl=lambda x, *, parts: np.reshape(x, tuple(d for pair in parts for d in pair)),
                      vjp=lambda g, out, x, *, parts: (call("merge_axes", g),), jvp=linear("split_axes"),
                      symbol="split", doc="each axis of length a*b as two axes (a, b)", view=True,
                      formula=function("split_axes"), domain=(ANY,), defined_everywhere=True))
MERGE_AXES = defop(Op(name="merge_axes", arity=1, shape=merged_shape,
                      impl=lambda x: np.reshape(x, tuple(np.multiply(x.shape[0::2], x.shape[1::2]))),
                      vjp=lambda g, out, x: (call("split_axes", g, parts=tuple(zip(x.shape[0::2], x.shape[1::2]))),),
                      jvp=linear("merge_axes"), symbol="merge", doc="axes (a, b) merged pairwise into one of a*b",
                      view=True, formula=function("merge_axes"), domain=(ANY,), defined_everywhere=True))
