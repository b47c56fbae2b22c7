"""What every printer shares: one precedence table, one ``paren`` helper, the
bottom-up traversal (no recursion, so deep trees print), named
subexpressions (a derivation prints z for W x + b), and the recognition of
f′(z) in the forms the engine writes it (σ(z) ⊙ (1 − σ(z)) is σ′(z))."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from . import expr as E


class Printed(NamedTuple):
    text: str
    prec: int
    kind: str = ""  # which product made it, for associativity


# One precedence table for every printer.
SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = 10, 20, 30, 40, 50, 60


def paren(child: Printed, minimum: int, left: str = "(", right: str = ")") -> str:
    return child.text if child.prec >= minimum else f"{left}{child.text}{right}"


def product_operand(child: Printed, kind: str, left: str = "(", right: str = ")") -> str:
    """Operands of an associative product of the same kind need no parentheses
    (a negated factor does: A (−B), never A −B)."""
    if child.text[:1] in "−-":
        return f"{left}{child.text}{right}"
    if child.prec > PRODUCT or (child.prec == PRODUCT and child.kind == kind):
        return child.text
    return f"{left}{child.text}{right}"


def sum_operand(child: Printed, left: str = "(", right: str = ")") -> str:
    """The right operand of + or −: a product as is, a sum or a negated term in parentheses."""
    if child.text[:1] in "−-":
        return f"{left}{child.text}{right}"
    return paren(child, PRODUCT, left, right)


def derivative_of(node: E.Expr) -> tuple[str, E.Expr] | None:
    """(f, z) when node is f′(z) as the engine writes it, else None.

    σ(z) ⊙ (1 − σ(z)) is σ′(z) and 1 − tanh(z)² is tanh′(z).
    """
    if isinstance(node, E.Mul):
        a, b = node.args
        if (
            isinstance(a, E.Apply)
            and a.fn == "sigmoid"
            and isinstance(b, E.Sub)
            and isinstance(b.a, E.Const)
            and b.a.value == 1
            and b.b is a
        ):
            return ("sigmoid", a.a)
    if isinstance(node, E.Sub) and isinstance(node.a, E.Const) and node.a.value == 1:
        sq = node.b
        if (
            isinstance(sq, E.Pow)
            and isinstance(sq.a, E.Apply)
            and sq.a.fn == "tanh"
            and isinstance(sq.b, E.Const)
            and sq.b.value == 2
        ):
            return ("tanh", sq.a.a)
    return None


class Context:
    """A printer's view while printing one expression: names and memoized parts."""

    def __init__(self, show: Callable, names: Mapping[int, Printed]) -> None:
        self.show = show
        self.names = names
        self.done: dict[int, Printed] = {}

    def of(self, expr: E.Expr) -> Printed:
        """The printed form of any subexpression (printed now if not yet seen)."""
        if id(expr) in self.names:
            return self.names[id(expr)]
        if id(expr) not in self.done:
            self._render(expr)
        return self.done[id(expr)]

    def _render(self, root: E.Expr) -> None:
        stack: list[tuple[E.Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in self.done:
                continue
            children = [c for c in node.args if id(c) not in self.names]
            if expanded or not children:
                args = [self.of(c) for c in node.args]
                self.done[id(node)] = self.show(node, args, self)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children) if id(c) not in self.done)


def render(
    expr: E.Expr, show: Callable, names: Mapping[int, Printed] | None = None, top: bool = True
) -> Printed:
    """Print expr; a named subexpression prints as its name.  With top=True the
    expression itself prints in full even if it has a name (for definitions)."""
    names = dict(names or {})
    if top:
        names.pop(id(expr), None)
    return Context(show, names).of(expr)
