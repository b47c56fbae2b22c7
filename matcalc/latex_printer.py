"""LaTeX printer: one small function per node, the shared precedence table.

Vectors are bold lowercase (\\mathbf{x}), matrices upright capitals (W);
⊙ is \\odot, ⊘ is \\oslash, ᵀ is ^\\top, 𝟏 is \\mathbf{1}, σ′ is \\sigma'.
"""

from __future__ import annotations

import re
from functools import singledispatch

import sympy

from . import expr as E
from .printing import (
    ATOM,
    POSTFIX,
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

L, R = r"\left(", r"\right)"

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
}  # fmt: skip
UNICODE_GREEK = {"δ": "delta", "σ": "sigma", "η": "eta", "λ": "lambda", "θ": "theta"}

FUNCTION_LATEX = {
    "exp": r"\exp",
    "log": r"\log",
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "relu": r"\operatorname{relu}",
    "sin": r"\sin",
    "cos": r"\cos",
    "abs": r"\operatorname{abs}",
    "step": r"\operatorname{step}",
    "sign": r"\operatorname{sign}",
    "softplus": r"\operatorname{softplus}",
    "sqrt": r"\operatorname{sqrt}",
}


def latex_name(name: str, kind: str = "scalar") -> str:
    """A name in LaTeX: W1 → W_{1}, x_out → \\mathbf{x}_{\\mathrm{out}}, delta → \\delta."""
    if name.startswith("∇"):  # a gradient's name, ∇f
        return r"\nabla " + latex_name(name[1:], kind)
    match = re.fullmatch(r"([^\W\d_]+?)_?(\d+|_[A-Za-z0-9_]+)?", name)
    base, index = (match.group(1), match.group(2)) if match else (name, None)
    base = UNICODE_GREEK.get(base, base)
    if base in GREEK:
        body = "\\" + base
        body = rf"\boldsymbol{{{body}}}" if kind == "vector" else body
    elif len(base) == 1:
        body = rf"\mathbf{{{base}}}" if kind == "vector" else base
    else:
        body = rf"\mathbf{{{base}}}" if kind == "vector" else rf"\mathit{{{base}}}"
    if index:
        index = index.lstrip("_")
        escaped = index.replace("_", "\\_")
        sub = index if index.isdigit() else rf"\mathrm{{{escaped}}}"
        return f"{body}_{{{sub}}}"
    return body


def kind_of(expr: E.Expr) -> str:
    if expr.is_scalar:
        return "scalar"
    return "vector" if expr.is_vector else "matrix"


def format_number(value: sympy.Expr) -> Printed:
    if isinstance(value, sympy.Rational) and not isinstance(value, sympy.Integer):
        sign = "-" if value < 0 else ""
        return Printed(rf"{sign}\frac{{{abs(value.p)}}}{{{value.q}}}", UNARY if sign else ATOM)
    if isinstance(value, sympy.Float):
        shown = f"{float(value):g}"
        return Printed(shown, UNARY if shown.startswith("-") else ATOM)
    if isinstance(value, sympy.Integer):
        return Printed(str(value), UNARY if value < 0 else ATOM)
    return Printed(sympy.latex(value), PRODUCT, "matmul")


def prime_latex(prime: tuple[str, E.Expr], ctx: Context) -> Printed:
    fn, z = prime
    return Printed(f"{FUNCTION_LATEX[fn]}'{L}{ctx.of(z).text}{R}", ATOM)


@singledispatch
def show(node: E.Expr, args: list[Printed], ctx: Context) -> Printed:
    raise TypeError(f"no LaTeX printer for {type(node).__name__}")


@show.register
def _(node: E.Variable, args: list[Printed], ctx: Context) -> Printed:
    return Printed(latex_name(node.name, node.kind), ATOM)


@show.register
def _(node: E.Const, args: list[Printed], ctx: Context) -> Printed:
    return format_number(node.value)


@show.register
def _(node: E.Ones, args: list[Printed], ctx: Context) -> Printed:
    if node.cols == 1:
        return Printed(r"\mathbf{1}", ATOM)
    if node.rows == 1:
        return Printed(r"\mathbf{1}^\top", POSTFIX)
    return Printed(r"\mathbf{1} \mathbf{1}^\top", PRODUCT, "matmul")


@show.register
def _(node: E.Zero, args: list[Printed], ctx: Context) -> Printed:
    return Printed(r"\mathbf{0}", ATOM)


@show.register
def _(node: E.Identity, args: list[Printed], ctx: Context) -> Printed:
    return Printed("I", ATOM)


@show.register
def _(node: E.Neg, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return Printed("-" + paren(a, PRODUCT, L, R), UNARY)


@show.register
def _(node: E.Add, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    if isinstance(node.b, E.Neg):
        return Printed(f"{a.text} - {b.text[1:]}", SUM)
    right = sum_operand(b, L, R)
    return Printed(f"{a.text} + {right}", SUM)


@show.register
def _(node: E.Sub, args: list[Printed], ctx: Context) -> Printed:
    prime = derivative_of(node)
    if prime is not None:
        return prime_latex(prime, ctx)
    a, b = args
    right = sum_operand(b, L, R)
    return Printed(f"{a.text} - {right}", SUM)


@show.register
def _(node: E.Mul, args: list[Printed], ctx: Context) -> Printed:
    prime = derivative_of(node)
    if prime is not None:
        return prime_latex(prime, ctx)
    a, b = args
    if node.a.is_scalar or node.b.is_scalar:
        right = product_operand(b, "matmul", L, R)
        if isinstance(node.a, E.Const) and a.prec == UNARY:
            return Printed(f"{a.text} {right}", UNARY)
        return Printed(f"{product_operand(a, 'matmul', L, R)} {right}", PRODUCT, "matmul")
    left, right = product_operand(a, "hadamard", L, R), product_operand(b, "hadamard", L, R)
    return Printed(rf"{left} \odot {right}", PRODUCT, "hadamard")


@show.register
def _(node: E.Div, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    if node.b.is_scalar:
        return Printed(rf"\frac{{{a.text}}}{{{b.text}}}", ATOM)
    left = a.text if a.kind == "div" else paren(a, POSTFIX, L, R)  # (a ⊘ b) ⊘ c reads left to right
    return Printed(rf"{left} \oslash {paren(b, POSTFIX, L, R)}", PRODUCT, "div")


@show.register
def _(node: E.Pow, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(f"{paren(a, ATOM, L, R)}^{{{b.text}}}", POSTFIX)


@show.register
def _(node: E.Maximum, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    return Printed(rf"\max{L}{a.text}, {b.text}{R}", ATOM)


@show.register
def _(node: E.Apply, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    if node.fn == "abs":
        return Printed(rf"\left|{a.text}\right|", ATOM)
    if node.fn == "sqrt":
        return Printed(rf"\sqrt{{{a.text}}}", ATOM)
    if node.fn == "softplus":
        return Printed(rf"\log{L}1 + \exp{L}{a.text}{R}{R}", ATOM)
    return Printed(f"{FUNCTION_LATEX[node.fn]}{L}{a.text}{R}", ATOM)


@show.register
def _(node: E.MatMul, args: list[Printed], ctx: Context) -> Printed:
    a, b = args
    left, right = product_operand(a, "matmul", L, R), product_operand(b, "matmul", L, R)
    return Printed(f"{left} {right}", PRODUCT, "matmul")


@show.register
def _(node: E.Transpose, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    if isinstance(node.a, E.Inv):
        return Printed(f"{paren(ctx.of(node.a.a), ATOM, L, R)}^{{-\\top}}", POSTFIX)
    return Printed(f"{paren(a, ATOM, L, R)}^\\top", POSTFIX)


@show.register
def _(node: E.Sum, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    if node.axis is None:
        return Printed(rf"\operatorname{{sum}}{L}{a.text}{R}", ATOM)
    if node.axis == 0:  # column sums 𝟏ᵀA
        return Printed(
            rf"\mathbf{{1}}^\top {product_operand(a, 'matmul', L, R)}", PRODUCT, "matmul"
        )
    return Printed(rf"{product_operand(a, 'matmul', L, R)} \mathbf{{1}}", PRODUCT, "matmul")


CALL_NAMES: dict[type[E.Expr], str] = {
    E.Trace: r"\operatorname{tr}",
    E.Det: r"\det",
    E.LogDet: r"\log\det",
    E.Diag: r"\operatorname{diag}",
    E.DiagPart: r"\operatorname{diagpart}",
    E.Softmax: r"\operatorname{softmax}",
    E.LogSumExp: r"\operatorname{logsumexp}",
}


def _call(node: E.Expr, args: list[Printed], ctx: Context) -> Printed:
    return Printed(f"{CALL_NAMES[type(node)]}{L}{args[0].text}{R}", ATOM)


for _call_type in CALL_NAMES:
    show.register(_call_type)(_call)


@show.register
def _(node: E.Inv, args: list[Printed], ctx: Context) -> Printed:
    (a,) = args
    return Printed(paren(a, ATOM, L, R) + "^{-1}", POSTFIX)


@show.register
def _(node: E.Norm, args: list[Printed], ctx: Context) -> Printed:
    return Printed(rf"\left\lVert {args[0].text} \right\rVert", ATOM)


def latex(expr: E.Expr, names: dict[int, Printed] | None = None, top: bool = True) -> str:
    """The expression in LaTeX (math mode, no delimiters)."""
    return render(E.as_expr(expr, "latex"), show, names, top).text


def markdown(expr: E.Expr) -> str:
    """The expression as Markdown inline math: ``$...$``."""
    return f"${latex(expr)}$"
