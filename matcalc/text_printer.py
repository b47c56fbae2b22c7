"""Unicode text printer (terminals and ``str``): one small function per node.

The lecture's notation: ⊙ for the Hadamard product, juxtaposition for the
matrix product, ᵀ, ⁻¹, σ, 𝟏 for a ones vector, I for the identity.
Printing is bottom-up over the DAG (no recursion, so deep trees print).
"""

from __future__ import annotations

from functools import singledispatch

import sympy

from . import expr as E
from .functions import FUNCTIONS
from .printing import (
    ATOM,
    POSTFIX,
    POWER,
    PRODUCT,
    SUM,
    UNARY,
    Context,
    Printed,
    derivative_of,
    paren,
    product_operand,
    render,
    sum_operand,
)

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(value: sympy.Expr) -> Printed:
    if isinstance(value, sympy.Rational) and not isinstance(value, sympy.Integer):
        shown = f"{abs(value.p)}/{value.q}"
        return Printed(("−" if value < 0 else "") + shown, PRODUCT, "div")
    if isinstance(value, sympy.Float):
        shown = f"{float(value):g}"
    else:
        shown = str(value)
    if not isinstance(value, sympy.Number | sympy.Symbol):  # a size expression such as 2/N
        return Printed(shown.replace("-", "−"), PRODUCT, "div")
    if shown.startswith("-"):
        return Printed("−" + shown[1:], UNARY)
    return Printed(shown, ATOM)


def prime_text(prime: tuple[str, E.Expr], ctx: Context) -> Printed:
    fn, z = prime
    return Printed(f"{FUNCTIONS[fn].text}′({ctx.of(z).text})", ATOM)


@singledispatch
def show(node: E.Expr, args: list[Printed], ctx: Context) -> Printed:
    raise TypeError(f"no text printer for {type(node).__name__}")


@show.register
def _(node: E.Variable, args: list[Printed], ctx: Context) -> Printed:
    return Printed(node.name, ATOM)


@show.register
def _(node: E.Const, args: list[Printed], ctx: Context) -> Printed:
    return format_number(node.value)


@show.register
def _(node: E.Ones, args: list[Printed], ctx: Context) -> Printed:
    if node.cols == 1:
        return Printed("𝟏", ATOM)
    if node.rows == 1:
        return Printed("𝟏ᵀ", POSTFIX)
    return Printed("𝟏𝟏ᵀ", PRODUCT, "matmul")


@show.register
def _(node: E.Zero, args: list[Printed], ctx: Context) -> Printed:
    return Printed("0", ATOM)


@show.register
def _(node: E.Identity, args: list[Printed], ctx: Context) -> Printed:
    return Printed("I", ATOM)


@show.register
def _(node: E.Neg, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return Printed("−" + paren(a, PRODUCT), UNARY)


@show.register
def _(node: E.Add, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    if isinstance(node.b, E.Neg):
        return Printed(f"{a.text} − {args[1].text[1:]}", SUM)
    right = sum_operand(b)
    return Printed(f"{a.text} + {right}", SUM)


@show.register
def _(node: E.Sub, args: list[Printed], ctx: Context) -> Printed:
    prime = derivative_of(node)
    if prime is not None:
        return prime_text(prime, ctx)
    a, b = args
    right = sum_operand(b)
    return Printed(f"{a.text} − {right}", SUM)


@show.register
def _(node: E.Mul, args: list[Printed], ctx: Context) -> Printed:
    prime = derivative_of(node)
    if prime is not None:
        return prime_text(prime, ctx)
    a, b = args
    if node.a.is_scalar or node.b.is_scalar:
        if isinstance(node.a, E.Const) and a.prec == UNARY:  # −2 x, not (−2) x
            return Printed(f"{a.text} {product_operand(b, 'matmul')}", UNARY)
        return Printed(
            f"{product_operand(a, 'matmul')} {product_operand(b, 'matmul')}", PRODUCT, "matmul"
        )
    return Printed(
        f"{product_operand(a, 'hadamard')} ⊙ {product_operand(b, 'hadamard')}",
        PRODUCT,
        "hadamard",
    )


@show.register
def _(node: E.Div, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(f"{paren(a, PRODUCT)} / {paren(b, POWER)}", PRODUCT, "div")


@show.register
def _(node: E.Pow, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    base = paren(a, POSTFIX)
    if isinstance(node.b, E.Const) and isinstance(node.b.value, sympy.Integer):
        return Printed(base + str(node.b.value).translate(_SUPERSCRIPTS), POSTFIX)
    return Printed(f"{base}^{paren(b, ATOM)}", POWER)


@show.register
def _(node: E.Maximum, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(f"max({a.text}, {b.text})", ATOM)


@show.register
def _(node: E.Apply, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    if node.fn == "abs":
        return Printed(f"|{a.text}|", ATOM)
    if node.fn == "softplus":
        return Printed(f"log(1 + exp({a.text}))", ATOM)
    return Printed(f"{FUNCTIONS[node.fn].text}({a.text})", ATOM)


@show.register
def _(node: E.MatMul, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(
        f"{product_operand(a, 'matmul')} {product_operand(b, 'matmul')}", PRODUCT, "matmul"
    )


@show.register
def _(node: E.Transpose, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    if isinstance(node.a, E.Inv):
        return Printed(a.text[: -len("⁻¹")] + "⁻ᵀ", POSTFIX)
    return Printed(paren(a, ATOM) + "ᵀ", POSTFIX)


@show.register
def _(node: E.Sum, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    if node.axis is None:
        return Printed(f"sum({a.text})", ATOM)
    return Printed(f"sum({a.text}, axis={node.axis})", ATOM)


# Nodes printed as a function call: name(argument).
CALL_NAMES: dict[type[E.Expr], str] = {
    E.Trace: "tr",
    E.Det: "det",
    E.Diag: "diag",
    E.DiagPart: "diagpart",
    E.Softmax: "softmax",
    E.LogSumExp: "logsumexp",
}


def _call(node: E.Expr, args: list[Printed], ctx: Context) -> Printed:
    return Printed(f"{CALL_NAMES[type(node)]}({', '.join(a.text for a in args)})", ATOM)


for _call_type in CALL_NAMES:
    show.register(_call_type)(_call)


@show.register
def _(node: E.LogDet, args: list[Printed], ctx: Context) -> Printed:
    return Printed(f"log det({args[0].text})", ATOM)


@show.register
def _(node: E.Inv, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return Printed(paren(a, ATOM) + "⁻¹", POSTFIX)


@show.register
def _(node: E.Norm, args: list[Printed], ctx: Context) -> Printed:
    return Printed(f"‖{args[0].text}‖", ATOM)


def text(expr: E.Expr, names: dict[int, Printed] | None = None, top: bool = True) -> str:
    """The expression in Unicode text, e.g. ``(a − y) ⊙ σ′(z)``.

    names maps id(subexpression) to its printed name (a derivation's z, a, δ).
    """
    return render(expr, show, names, top).text
