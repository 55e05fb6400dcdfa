"""How an op reads in a formula (`gradc explain`): a text and a LaTeX template, and how tightly each binds.

A template formats the operands as `{0}`, `{1}`; `{0:product}` puts an operand in parentheses unless it binds
at least as tightly as a product. Attributes come by name (a tuple prints as `1, 2`), and `{arguments}` is the
operands followed, in text, by the attributes worth printing: `sum(x, axis=1)`. Where a template cannot say
it, a form is a function `form(printer, node, *operands, **attrs) -> Piece` (see gradc/explain.py's Printer).
"""
from dataclasses import dataclass
from typing import Callable, Optional, Union

COMPARE, SUM, PRODUCT, UNARY, POWER, ATOM = range(6)  # binding strength, loosest first
PRECEDENCE = {"compare": COMPARE, "sum": SUM, "product": PRODUCT, "unary": UNARY, "power": POWER, "atom": ATOM}
_NAMES = {prec: name for name, prec in PRECEDENCE.items()}

# Formula.transparent: shape plumbing that a formula shows as its operand
ALWAYS = "always"
UNDER_ELEMENTWISE = "under elementwise"  # a broadcast: shown under a matrix product and the like


@dataclass(frozen=True)
class Piece:
    """Printed text and how tightly it binds."""
    text: str
    prec: int


@dataclass(frozen=True)
class Formula:
    """An op's formula.

    Attributes:
        text, latex: a template, or a form function.
        prec: how tightly the text template's result binds.
        latex_prec: the same for the LaTeX template (default: prec).
        transparent: ALWAYS or UNDER_ELEMENTWISE where the formula shows the operand instead of the op.
        terse: applied to a leaf it reads as well as a name (X.T, -x, x[0]), so it is never named apart.
    """
    text: Union[str, Callable]
    latex: Union[str, Callable]
    prec: int = ATOM
    latex_prec: Optional[int] = None
    transparent: str = ""
    terse: bool = False

    def form(self, latex):
        """The template (or form function) and its binding strength for text or LaTeX."""
        if latex:
            return self.latex, self.prec if self.latex_prec is None else self.latex_prec
        return self.text, self.prec


def printed(form, **options):
    """A formula that one form function prints in text and in LaTeX."""
    return Formula(form, form, **options)


def infix(text, latex, prec, associative=False, **options):
    """`x + y`: the right operand needs parentheses at its own strength unless the operator is associative."""
    left, right = _NAMES[prec], _NAMES[prec if associative else prec + 1]
    template = "{{0:{0}}} {1} {{1:{2}}}"
    return Formula(template.format(left, text, right), template.format(left, latex, right).replace("  ", " "), prec,
                   **options)


def function(name, latex=None, **options):
    """`name(x, axis=1)` in text; in LaTeX `latex` (default \\operatorname{name}) applied to the operands."""
    head = latex or r"\operatorname{" + name.replace("_", r"\_") + "}"
    return Formula(f"{name}({{arguments}})", head.replace("{", "{{").replace("}", "}}") + r"\left({arguments}\right)",
                   **options)


def mask(text, latex):
    """A 0/1 mask: `(x > y)` in text, the Iverson bracket [x > y] in LaTeX."""
    return Formula(f"({{0:sum}} {text} {{1:sum}})", rf"\left[{{0}} {latex} {{1}}\right]")
