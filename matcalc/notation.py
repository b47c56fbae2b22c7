"""The notation table: how each piece of an expression is written, in Unicode
text (terminals, ``str``) and in LaTeX (documents, Jupyter).

The lecture's notation: ⊙ for the Hadamard product, juxtaposition for the
matrix product, ᵀ, ⁻¹, σ, 𝟏 for a ones vector, I for the identity; in LaTeX
bold lowercase vectors (\\mathbf{x}), upright capital matrices, \\odot,
\\oslash, ^\\top, \\mathbf{1}, \\sigma'.  One ``Style`` per target holds the
tokens; ``printing`` walks the expression once and asks the style.  Where the
two targets write a node differently in shape, not just in tokens (a power,
a quotient, an axis sum, a number), the style has a method for it.

A power of a matrix is always the Hadamard power, A∘² = A ⊙ A (LaTeX
``A^{\\circ 2}``), and its entrywise reciprocal 1 ⊘ A (``A^{\\circ -1}``): A² and
A⁻¹ would read as the matrix power and the inverse, which are A A and inv(A).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import sympy

from . import expr as E
from .functions import ElementwiseFunction


class Printed(NamedTuple):
    text: str
    prec: int
    kind: str = ""  # which product made it, for associativity


# One precedence table for every target.
SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = 10, 20, 30, 40, 50, 60


@dataclass(frozen=True)
class Style:
    """The tokens of one target; the methods below are the shape differences."""

    open: str
    close: str
    minus: str
    hadamard: str
    transpose: str
    inverse: str
    inverse_transpose: str
    ones_column: str
    ones_row: str
    zero: str
    identity: str
    norm: str  # "{0}" is the argument
    maximum: str  # "{0}", "{1}" are the arguments
    call: str  # "{0}" the name, "{1}" the argument
    # Nodes written as a call, name(argument): the name in this target.
    calls: ClassVar[dict[type[E.Expr], str]] = {}

    def paren(self, child: Printed, minimum: int) -> str:
        return child.text if child.prec >= minimum else f"{self.open}{child.text}{self.close}"

    def product_operand(self, child: Printed, kind: str) -> str:
        """Operands of an associative product of the same kind need no parentheses
        (a negated factor does: A (−B), never A −B)."""
        if child.text.startswith(self.minus):
            return f"{self.open}{child.text}{self.close}"
        if child.prec > PRODUCT or (child.prec == PRODUCT and child.kind == kind):
            return child.text
        return f"{self.open}{child.text}{self.close}"

    def sum_operand(self, child: Printed) -> str:
        """The right operand of + or −: a product as is, a sum or a negated term in parentheses."""
        if child.text.startswith(self.minus):
            return f"{self.open}{child.text}{self.close}"
        return self.paren(child, PRODUCT)

    def sized(self, token: str, size: object) -> str:
        """𝟏 or I; in LaTeX with its size, 𝟏_n and I_n, so that it reads back."""
        return token

    def called(self, name: str, argument: str) -> Printed:
        return Printed(self.call.format(name, argument), ATOM)

    # -- the shape differences, one method each (every target overrides) --
    def variable(self, node: E.Variable) -> Printed:  # pragma: no cover
        raise NotImplementedError

    def number(self, value: sympy.Expr) -> Printed:  # pragma: no cover
        raise NotImplementedError

    def function(self, entry: ElementwiseFunction, argument: Printed) -> Printed:
        raise NotImplementedError  # pragma: no cover

    def prime(self, entry: ElementwiseFunction, argument: Printed) -> Printed:
        raise NotImplementedError  # pragma: no cover

    def divide(self, node: E.Expr, a: Printed, b: Printed) -> Printed:  # pragma: no cover
        raise NotImplementedError

    def power(self, node: E.Expr, a: Printed, b: Printed) -> Printed:  # pragma: no cover
        raise NotImplementedError

    def axis_sum(self, axis: int | None, a: Printed) -> Printed:  # pragma: no cover
        raise NotImplementedError


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
HADAMARD_POWER = "∘"  # text: A∘² is A ⊙ A, never the matrix power A²


def integer_exponent(exponent: E.Expr) -> int | None:
    """k when the exponent is the integer constant k, else None.

    −k arrives either as the constant −k (x ** -1 in Python) or as −(k) (the
    parser's unary minus): both are k = −1 here, so both print alike."""
    if isinstance(exponent, E.Neg):
        inner = integer_exponent(exponent.a)
        return None if inner is None else -inner
    if isinstance(exponent, E.Const) and isinstance(exponent.value, sympy.Integer):
        return int(exponent.value)
    return None


def is_matrix(expr: E.Expr) -> bool:
    """Neither a scalar nor a vector: a power of it must not look like a matrix power."""
    return kind_of(expr) == "matrix"


class TextStyle(Style):
    calls: ClassVar[dict[type[E.Expr], str]] = {
        E.Trace: "tr",
        E.Det: "det",
        E.LogDet: "log det",
        E.Diag: "diag",
        E.DiagPart: "diagpart",
        E.Softmax: "softmax",
        E.LogSumExp: "logsumexp",
    }

    def variable(self, node: E.Variable) -> Printed:
        return Printed(node.name, ATOM)

    def number(self, value: sympy.Expr) -> Printed:
        if isinstance(value, sympy.Rational) and not isinstance(value, sympy.Integer):
            shown = f"{abs(value.p)}/{value.q}"
            return Printed(("−" if value < 0 else "") + shown, PRODUCT, "div")
        shown = f"{float(value):g}" if isinstance(value, sympy.Float) else str(value)
        if not isinstance(value, sympy.Number | sympy.Symbol):  # a size expression such as 2/N
            return Printed(shown.replace("-", "−"), PRODUCT, "div")
        if shown.startswith("-"):
            return Printed("−" + shown[1:], UNARY)
        return Printed(shown, ATOM)

    def function(self, entry: ElementwiseFunction, argument: Printed) -> Printed:
        return Printed(entry.text_of(argument.text), ATOM)

    def prime(self, entry: ElementwiseFunction, argument: Printed) -> Printed:
        return Printed(f"{entry.text}′({argument.text})", ATOM)

    def divide(self, node: E.Expr, a: Printed, b: Printed) -> Printed:
        return Printed(f"{self.paren(a, PRODUCT)} / {self.paren(b, POWER)}", PRODUCT, "div")

    def power(self, node: E.Expr, a: Printed, b: Printed) -> Printed:
        """x² and x^c of a scalar or vector (entrywise, as the lecture writes them)."""
        base, exponent = node.args
        k = integer_exponent(exponent)
        if is_matrix(base):
            return self.hadamard_power(a, b, k)
        shown = self.paren(a, POSTFIX)
        if k is not None:
            return Printed(shown + str(k).translate(_SUPERSCRIPTS), POSTFIX)
        return Printed(f"{shown}^{self.paren(b, ATOM)}", POWER)

    def hadamard_power(self, a: Printed, b: Printed, k: int | None) -> Printed:
        """A∘ᵏ, (A∘ᵏ)ᵢⱼ = Aᵢⱼᵏ; A∘⁻¹ is written 1 ⊘ A, the entries' reciprocals.

        The base is parenthesized unless atomic: (A⁻¹)∘², not A⁻¹∘², whose
        superscripts would run together."""
        if k == -1:  # A⁻¹ is the inverse: the reciprocal is written as the quotient
            return Printed(f"1 ⊘ {self.paren(a, POWER)}", PRODUCT, "div")
        shown = self.paren(a, ATOM) + HADAMARD_POWER
        if k is not None:
            return Printed(shown + str(k).translate(_SUPERSCRIPTS), POSTFIX)
        return Printed(f"{shown}^{self.paren(b, ATOM)}", POWER)

    def axis_sum(self, axis: int | None, a: Printed) -> Printed:
        if axis is None:
            return Printed(f"sum({a.text})", ATOM)
        return Printed(f"sum({a.text}, axis={axis})", ATOM)


GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
}  # fmt: skip


def _unicode_greek() -> dict[str, str]:
    found = {}
    for name in GREEK:
        case = "CAPITAL" if name[0].isupper() else "SMALL"
        spelled = "LAMDA" if name.lower() == "lambda" else name.upper()
        found[unicodedata.lookup(f"GREEK {case} LETTER {spelled}")] = name
    return found


UNICODE_GREEK = _unicode_greek()  # δ → delta, for every letter LaTeX names


def _escaped_letters(text: str) -> str:
    """A name's letters for \\mathit{…}: ASCII as is, Greek by command, any other
    character by its code point (TeX never sees a user's raw character)."""
    out = []
    for char in text:
        if char.isascii() and (char.isalnum()):
            out.append(char)
        elif char == "_":
            out.append(r"\_")
        elif char in UNICODE_GREEK:
            out.append(f"\\{UNICODE_GREEK[char]} ")
        else:
            out.append(rf"\text{{U+{ord(char):04X}}}")
    return "".join(out)


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
    elif len(base) == 1 and base.isascii():
        body = rf"\mathbf{{{base}}}" if kind == "vector" else base
    else:
        letters = _escaped_letters(base)
        body = rf"\mathbf{{{letters}}}" if kind == "vector" else rf"\mathit{{{letters}}}"
    if index:
        index = index.lstrip("_")
        sub = (
            index
            if index.isdigit() and index.isascii()
            else rf"\mathrm{{{_escaped_letters(index)}}}"
        )
        return f"{body}_{{{sub}}}"
    return body


def kind_of(expr: E.Expr) -> str:
    if expr.is_scalar:
        return "scalar"
    return "vector" if expr.is_vector else "matrix"


class LatexStyle(Style):
    def sized(self, token: str, size: object) -> str:
        return f"{token}_{{{sympy.latex(size)}}}"

    calls: ClassVar[dict[type[E.Expr], str]] = {
        E.Trace: r"\operatorname{tr}",
        E.Det: r"\det",
        E.LogDet: r"\log\det",
        E.Diag: r"\operatorname{diag}",
        E.DiagPart: r"\operatorname{diagpart}",
        E.Softmax: r"\operatorname{softmax}",
        E.LogSumExp: r"\operatorname{logsumexp}",
    }

    def variable(self, node: E.Variable) -> Printed:
        return Printed(latex_name(node.name, node.kind), ATOM)

    def number(self, value: sympy.Expr) -> Printed:
        if isinstance(value, sympy.Rational) and not isinstance(value, sympy.Integer):
            sign = "-" if value < 0 else ""
            return Printed(rf"{sign}\frac{{{abs(value.p)}}}{{{value.q}}}", UNARY if sign else ATOM)
        if isinstance(value, sympy.Float):
            shown = f"{float(value):g}"
            return Printed(shown, UNARY if shown.startswith("-") else ATOM)
        if isinstance(value, sympy.Integer):
            return Printed(str(value), UNARY if value < 0 else ATOM)
        return Printed(sympy.latex(value), PRODUCT, "matmul")

    def function(self, entry: ElementwiseFunction, argument: Printed) -> Printed:
        return Printed(entry.latex_of(argument.text), ATOM)

    def prime(self, entry: ElementwiseFunction, argument: Printed) -> Printed:
        return Printed(rf"{entry.latex}'{self.open}{argument.text}{self.close}", ATOM)

    def divide(self, node: E.Expr, a: Printed, b: Printed) -> Printed:
        if node.args[1].is_scalar:
            return Printed(rf"\frac{{{a.text}}}{{{b.text}}}", ATOM)
        # (a ⊘ b) ⊘ c reads left to right
        left = a.text if a.kind == "div" else self.paren(a, POSTFIX)
        return Printed(rf"{left} \oslash {self.paren(b, POSTFIX)}", PRODUCT, "div")

    def power(self, node: E.Expr, a: Printed, b: Printed) -> Printed:
        """a^{k} of a scalar, \\mathbf{x}^{2} of a vector, A^{\\circ k} (the Hadamard
        power) of a matrix."""
        base, exponent = node.args
        if not self.hadamard_marked(base, exponent):
            return Printed(f"{self.paren(a, ATOM)}^{{{b.text}}}", POSTFIX)
        # A^{\circ (c + 1)}: the ∘ marks the whole exponent, not its first term
        return Printed(rf"{self.paren(a, ATOM)}^{{\circ {self.paren(b, PRODUCT)}}}", POSTFIX)

    @staticmethod
    def hadamard_marked(base: E.Expr, exponent: E.Expr) -> bool:
        """Does the power need its ∘?  Always for a matrix (A^2 would read as the matrix
        power A A); for a vector when the exponent is a negative constant, since
        \\mathbf{x}^{-1} would read as an inverse; never for a scalar."""
        if base.is_scalar:
            return False
        if not base.is_vector:
            return True
        k = integer_exponent(exponent)
        negative = isinstance(exponent, E.Const) and bool(exponent.value.is_negative)
        return negative or (k is not None and k < 0)

    def axis_sum(self, axis: int | None, a: Printed) -> Printed:
        if axis is None:
            return self.called(r"\operatorname{sum}", a.text)
        if axis == 0:  # column sums 𝟏ᵀA
            return Printed(
                rf"{self.ones_row} {self.product_operand(a, 'matmul')}", PRODUCT, "matmul"
            )
        return Printed(
            rf"{self.product_operand(a, 'matmul')} {self.ones_column}", PRODUCT, "matmul"
        )


TEXT = TextStyle(
    open="(",
    close=")",
    minus="−",
    hadamard="⊙",
    transpose="ᵀ",
    inverse="⁻¹",
    inverse_transpose="⁻ᵀ",
    ones_column="𝟏",
    ones_row="𝟏ᵀ",
    zero="0",
    identity="I",
    norm="‖{0}‖",
    maximum="max({0}, {1})",
    call="{0}({1})",
)

LATEX = LatexStyle(
    open=r"\left(",
    close=r"\right)",
    minus="-",
    hadamard=r"\odot",
    transpose=r"^\top",
    inverse="^{-1}",
    inverse_transpose=r"^{-\top}",
    ones_column=r"\mathbf{1}",
    ones_row=r"\mathbf{1}^\top",
    zero=r"\mathbf{0}",
    identity="I",
    norm=r"\left\lVert {0} \right\rVert",
    maximum=r"\max\left({0}, {1}\right)",
    call=r"{0}\left({1}\right)",
)


_TEXT_MATH = {
    "×": r"$\times$", "∂": r"$\partial$", "δ": r"$\delta$", "σ": r"$\sigma$", "′": "'",
    "⊙": r"$\odot$", "−": "-", "𝟏": r"$\mathbf{1}$", "∇": r"$\nabla$",
    "∘": r"$\circ$", "⊘": r"$\oslash$",
}  # fmt: skip
# a run of superscripts (x², A∘⁻², X⁻ᵀ) becomes one TeX superscript
_SUPERSCRIPT_RUN = re.compile("([⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀ]+)")
_UNSUPERSCRIPT = str.maketrans(
    {**dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-", strict=True)), "ᵀ": r"\top "}
)


def latex_text(words: str) -> str:
    """Plain words for LaTeX text mode: escapes, and the few math symbols we use
    (a message quoting A∘² shows A$\\circ$$^{2}$, never A??)."""
    # a split on one group: the odd pieces are the superscript runs
    pieces = _SUPERSCRIPT_RUN.split(words.replace("\\", "/"))
    return "".join(
        f"$^{{{piece.translate(_UNSUPERSCRIPT)}}}$" if i % 2 else _text_mode(piece)
        for i, piece in enumerate(pieces)
    )


def _text_mode(words: str) -> str:
    """Words without superscripts, escaped character by character for text mode."""
    out = []
    for char in words:
        if char in _TEXT_MATH:
            out.append(_TEXT_MATH[char])
        elif char in "_&%#${}":
            out.append("\\" + char)
        elif char in "^~":  # ^^5c would be a backslash to TeX
            out.append(r"\textasciicircum{}" if char == "^" else r"\textasciitilde{}")
        elif ord(char) < 128:
            out.append(char)
        else:
            out.append("?")  # pdflatex's default fonts have no glyph for it
    return "".join(out)
