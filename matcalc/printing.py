"""The printers: one walk over the expression, one small function per node,
two targets (``notation.TEXT`` and ``notation.LATEX``).

The walk is bottom-up over the DAG (no recursion, so deep trees print).  A
derivation's named subexpressions print as their names (z for W x + b), and
f′(z) prints as such for every catalogue function whose derivative is named
(σ′, tanh′): nodes are interned, so f′(z) is recognised by identity with
the derivative the catalogue builds for f(z).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from functools import singledispatch

from . import expr as E
from . import simplifier
from .functions import FUNCTIONS
from .notation import (
    ATOM,
    LATEX,
    POSTFIX,
    PRODUCT,
    SUM,
    TEXT,
    UNARY,
    Printed,
    Style,
)

# f(z) → its f′(z), held weakly both ways (f′(z) refers to f(z), so a strong value
# would keep every key alive): an f′ that occurs somewhere is found again at once.
_PRIMES: weakref.WeakKeyDictionary[E.Expr, weakref.ref[E.Expr]] = weakref.WeakKeyDictionary()


def named_derivatives(
    *roots: E.Expr, order: list[E.Expr] | None = None
) -> dict[int, tuple[str, E.Expr]]:
    """id(f′(z)) → (f, z) for each f(z) in the roots whose f′ prints by name.

    σ(z) ⊙ (1 − σ(z)) is σ′(z) and 1 − tanh(z)² is tanh′(z): the very nodes
    the derivative rule builds, so an identity test finds them."""
    nodes = E.postorder(*roots) if order is None else order  # order: the roots' postorder
    present = {id(node) for node in nodes}
    found: dict[int, tuple[str, E.Expr]] = {}
    for node in nodes:
        if isinstance(node, E.Apply):
            entry = FUNCTIONS[node.fn]
            if entry.named_derivative and entry.derivative is not None:
                known = _PRIMES.get(node)
                prime = known() if known is not None else None
                if prime is None:
                    prime = entry.derivative(simplifier, node.a, node)
                    _PRIMES[node] = weakref.ref(prime)
                # only f′(z) that occur: an id of a node that dies here could be reused
                if id(prime) in present:
                    found[id(prime)] = (node.fn, node.a)
    return found


class Context:
    """A printer's view while printing one expression: target, names, memoized parts."""

    def __init__(
        self, style: Style, names: Mapping[int, Printed], primes: dict[int, tuple[str, E.Expr]]
    ) -> None:
        self.style = style
        self.names = names
        self.primes = primes
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
            if not expanded and isinstance(node, E.Add | E.Sub) and _long_sum_of(self, node):
                self.done[id(node)] = _joined_sum(self, node)
                continue
            children = [c for c in node.args if id(c) not in self.names]
            if expanded or not children:
                prime = self.primes.get(id(node))
                if prime is not None:
                    fn, z = prime
                    self.done[id(node)] = self.style.prime(FUNCTIONS[fn], self.of(z))
                    continue
                args = [self.of(c) for c in node.args]
                self.done[id(node)] = show(node, args, self)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children) if id(c) not in self.done)


LONG_SUM = 64  # terms: a longer a + b + c + … is printed by joining its terms once


def _left_spine(node: E.Expr, names: Mapping[int, Printed]) -> list[E.Expr]:
    """The partial sums down the left of a chain, root first (named ones end it)."""
    spine = [node]
    while isinstance(spine[-1].args[0], E.Add | E.Sub) and id(spine[-1].args[0]) not in names:
        spine.append(spine[-1].args[0])
    return spine


def _long_sum_of(ctx: Context, node: E.Expr) -> bool:
    count, item = 0, node
    while isinstance(item, E.Add | E.Sub) and id(item) not in ctx.names:
        count += 1
        if count > LONG_SUM:
            return True
        item = item.args[0]
    return False


def _joined_sum(ctx: Context, node: E.Expr) -> Printed:
    """a + b − c + …: each term printed once and the text joined once (a partial sum's
    text holds all terms before it, so printing each would be quadratic)."""
    spine = _left_spine(node, ctx.names)
    first = ctx.of(spine[-1].args[0])
    parts = [first.text]
    minus = ctx.style.minus
    for item in reversed(spine):
        b = ctx.of(item.args[1])
        if isinstance(item, E.Sub):
            parts.append(f" {minus} {ctx.style.sum_operand(b)}")
        elif isinstance(item.args[1], E.Neg) and b.prec == UNARY and b.text.startswith(minus):
            parts.append(f" {minus} {b.text[len(minus) :]}")
        else:
            parts.append(f" + {ctx.style.sum_operand(b)}")
    return Printed("".join(parts), SUM)


def render(
    expr: E.Expr, style: Style, names: Mapping[int, Printed] | None = None, top: bool = True
) -> Printed:
    """Print expr; a named subexpression prints as its name.  With top=True the
    expression itself prints in full even if it has a name (for definitions)."""
    names = {} if names is None else names  # not `or`: len() of a Versions walks it
    if top and id(expr) in names:
        names = _Hiding(names, id(expr))
    return Context(style, names, _primes_in(expr)).of(expr)


class _Hiding(Mapping[int, Printed]):
    """names without one key (an expression printed in full though it has a name), as
    a view: a copy per print costs the number of names, which grows with a derivation."""

    def __init__(self, names: Mapping[int, Printed], hidden: int) -> None:
        self.names, self.hidden = names, hidden

    def __getitem__(self, key: int) -> Printed:
        if key == self.hidden:
            raise KeyError(key)
        return self.names[key]

    def __contains__(self, key: object) -> bool:
        return key != self.hidden and key in self.names

    def __iter__(self) -> Iterator[int]:
        return (key for key in self.names if key != self.hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


# expr → named_derivatives(expr), held weakly: a derivation prints each formula a few
# times (compared, then as text and LaTeX), and finding the f′(z) walks all of expr.
# The ids in a value are of nodes inside its key, alive while the key is.
_FOUND: weakref.WeakKeyDictionary[E.Expr, dict[int, tuple[str, E.Expr]]] = (
    weakref.WeakKeyDictionary()
)


def _primes_in(expr: E.Expr) -> dict[int, tuple[str, E.Expr]]:
    found = _FOUND.get(expr)
    if found is None:
        found = _FOUND[expr] = named_derivatives(expr)
    return found


def text(expr: E.Expr, names: Mapping[int, Printed] | None = None, top: bool = True) -> str:
    """The expression in Unicode text, e.g. ``(a − y) ⊙ σ′(z)``.

    names maps id(subexpression) to its printed name (a derivation's z, a, δ).
    """
    return render(E.as_expr(expr, "text"), TEXT, names, top).text


def latex(expr: E.Expr, names: Mapping[int, Printed] | None = None, top: bool = True) -> str:
    """The expression in LaTeX (math mode, no delimiters)."""
    return render(E.as_expr(expr, "latex"), LATEX, names, top).text


def markdown(expr: E.Expr) -> str:
    """The expression as Markdown inline math: ``$...$``."""
    return f"${latex(expr)}$"


E.DISPLAY["text"] = text
E.DISPLAY["latex"] = latex


# -- one function per node type ------------------------------------------------------------
@singledispatch
def show(node: E.Expr, args: list[Printed], ctx: Context) -> Printed:
    raise TypeError(f"no printer for {type(node).__name__}")


@show.register
def _(node: E.Variable, args: list[Printed], ctx: Context) -> Printed:
    return ctx.style.variable(node)


@show.register
def _(node: E.Const, args: list[Printed], ctx: Context) -> Printed:
    return ctx.style.number(node.value)


@show.register
def _(node: E.Ones, args: list[Printed], ctx: Context) -> Printed:
    style = ctx.style
    if node.cols == 1:
        return Printed(style.sized(style.ones_column, node.rows), ATOM)
    if node.rows == 1:
        return Printed(style.sized(style.ones_column, node.cols) + style.transpose, POSTFIX)
    column = style.sized(style.ones_column, node.rows)
    row = style.sized(style.ones_column, node.cols) + style.transpose
    return Printed(f"{column} {row}", PRODUCT, "matmul")


@show.register
def _(node: E.Zero, args: list[Printed], ctx: Context) -> Printed:
    return Printed(ctx.style.zero, ATOM)


@show.register
def _(node: E.Identity, args: list[Printed], ctx: Context) -> Printed:
    return Printed(ctx.style.sized(ctx.style.identity, node.rows), ATOM)


@show.register
def _(node: E.Neg, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return Printed(ctx.style.minus + ctx.style.paren(a, PRODUCT), UNARY)


@show.register
def _(node: E.Add, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    minus = ctx.style.minus
    if isinstance(node.b, E.Neg) and b.prec == UNARY and b.text.startswith(minus):
        return Printed(f"{a.text} {minus} {b.text[len(minus) :]}", SUM)
    return Printed(f"{a.text} + {ctx.style.sum_operand(b)}", SUM)


@show.register
def _(node: E.Sub, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(f"{a.text} {ctx.style.minus} {ctx.style.sum_operand(b)}", SUM)


@show.register
def _(node: E.Mul, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    style = ctx.style
    if node.a.is_scalar or node.b.is_scalar:
        right = _right_operand(style, node, b)
        if isinstance(node.a, E.Const) and a.prec == UNARY:  # −2 x, not (−2) x
            return Printed(f"{a.text} {right}", UNARY)
        return Printed(f"{style.product_operand(a, 'matmul')} {right}", PRODUCT, "matmul")
    left, right = style.product_operand(a, "hadamard"), style.product_operand(b, "hadamard")
    return Printed(f"{left} {style.hadamard} {right}", PRODUCT, "hadamard")


@show.register
def _(node: E.Div, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return ctx.style.divide(node, a, b)


@show.register
def _(node: E.Pow, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return ctx.style.power(node, a, b)


@show.register
def _(node: E.Maximum, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(ctx.style.maximum.format(a.text, b.text), ATOM)


@show.register
def _(node: E.Apply, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    entry = FUNCTIONS[node.fn]
    if entry.text_form.startswith("|") and not (node.is_scalar or node.is_vector):
        # |A| of a matrix reads as its determinant: the entries' absolute values are abs(A)
        name = entry.latex if ctx.style is LATEX else entry.name
        return ctx.style.called(name, a.text)
    return ctx.style.function(entry, a)


@show.register
def _(node: E.MatMul, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    style = ctx.style
    left, right = style.product_operand(a, "matmul"), _right_operand(style, node, b)
    return Printed(f"{left} {right}", PRODUCT, "matmul")


def _right_operand(style, node: E.Expr, b: Printed) -> str:
    """A (yᵀ y): a product is read left to right, so a right operand that is itself a
    product keeps its parentheses unless its first factor fits the left one."""
    right = style.product_operand(b, "matmul")
    if b.kind == "matmul" and right == b.text and not _continues(node.args[0], node.args[1]):
        return f"{style.open}{b.text}{style.close}"
    return right


def _juxtaposed(e: E.Expr) -> bool:  # printed as a product by juxtaposition
    return isinstance(e, E.MatMul) or (
        isinstance(e, E.Mul) and (e.args[0].is_scalar or e.args[1].is_scalar)
    )


def _continues(left: E.Expr, product: E.Expr) -> bool:
    """Does left times the first printed factor of product fit as a matrix product?"""
    first = product
    while _juxtaposed(first):
        first = first.args[0]
    if isinstance(first, E.Sum) and first.axis == 0:  # printed 𝟏ᵀ A
        return left.is_scalar or left.cols == 1
    if first is product:  # one factor (a size constant such as 2 N)
        return True
    return left.is_scalar or (not first.is_scalar and left.cols == first.rows)


@show.register
def _(node: E.Transpose, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    style = ctx.style
    if isinstance(node.a, E.Inv) and id(node.a) not in ctx.names:  # X⁻ᵀ
        return Printed(style.paren(ctx.of(node.a.a), ATOM) + style.inverse_transpose, POSTFIX)
    return Printed(style.paren(a, ATOM) + style.transpose, POSTFIX)


@show.register
def _(node: E.Sum, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return ctx.style.axis_sum(node.axis, a)


@show.register(E.Trace)
@show.register(E.Det)
@show.register(E.LogDet)
@show.register(E.Diag)
@show.register(E.DiagPart)
@show.register(E.Softmax)
@show.register(E.LogSumExp)
def _(node: E.Expr, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return ctx.style.called(ctx.style.calls[type(node)], a.text)


@show.register
def _(node: E.Inv, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return Printed(ctx.style.paren(a, ATOM) + ctx.style.inverse, POSTFIX)


@show.register
def _(node: E.Norm, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    matrix = node.a.rows != 1 and node.a.cols != 1
    return Printed((ctx.style.frobenius if matrix else ctx.style.norm).format(a.text), ATOM)
