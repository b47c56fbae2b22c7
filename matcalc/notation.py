"""The notation table: how each piece of an expression is written, in Unicode
text (terminals, ``str``) and in LaTeX (documents, Jupyter).

The lecture's notation: ⊙ for the Hadamard product, juxtaposition for the
matrix product, ᵀ, ⁻¹, σ, 𝟏 for a ones vector, I for the identity; in LaTeX
bold lowercase vectors (\\mathbf{x}), upright capital matrices, \\odot,
\\oslash, ^\\top, \\mathbf{1}, \\sigma'.  One ``Style`` per target holds the
tokens; ``printing`` walks the expression once and asks the style.  Where the
two targets write a node differently in shape, not just in tokens (a power,
a quotient, an axis sum, a number), the style has a method for it.

``NOTATION`` is the legend: each symbol as the terminal and LaTeX write it and
what it means, in words every form shows (``Derivation.legend``); ``latex_words``
and ``latex_prose`` typeset words that hold formulas (rule annotations, notes).

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


def decimal_text(value: sympy.Expr) -> str | None:
    """A fraction p/10ᵏ (what a decimal such as 0.01 or 3.14159 is read as, exactly) in
    decimal notation; None for any other number (½ stays a fraction)."""
    if not isinstance(value, sympy.Rational) or isinstance(value, sympy.Integer):
        return None
    digits, q = 0, int(value.q)
    while q % 10 == 0:
        q //= 10
        digits += 1
    if q != 1:
        return None
    shown = str(abs(int(value.p))).rjust(digits + 1, "0")
    return ("-" if value < 0 else "") + f"{shown[:-digits]}.{shown[-digits:]}"


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
    norm: str  # "{0}" is the argument: the Euclidean norm of a vector
    frobenius: str  # the same for a matrix: ‖X‖_F, as the Matrix Cookbook writes it
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
        """A number as text: 1/2, −3, π, 0.01 (a decimal as it was typed)."""
        decimal = decimal_text(value)
        if decimal is not None and decimal[0] == "-":
            return Printed("−" + decimal[1:], UNARY)
        if decimal is not None:
            return Printed(decimal, ATOM)
        if isinstance(value, sympy.Rational) and not isinstance(value, sympy.Integer):
            shown = f"{abs(value.p)}/{value.q}"
            return Printed(("−" if value < 0 else "") + shown, PRODUCT, "div")
        if value in NAMED_NUMBERS:
            return Printed(NAMED_NUMBERS[value], ATOM)
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


NAMED_NUMBERS = {sympy.pi: "π", sympy.E: "e"}  # constants a formula may name

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
        """A number in LaTeX: \\frac{1}{2}, −3, π, 0.01 (a decimal as it was typed)."""
        decimal = decimal_text(value)
        if decimal is not None:
            return Printed(decimal, UNARY if decimal[0] == "-" else ATOM)
        if isinstance(value, sympy.Rational) and not isinstance(value, sympy.Integer):
            sign = "-" if value < 0 else ""
            return Printed(rf"{sign}\frac{{{abs(value.p)}}}{{{value.q}}}", UNARY if sign else ATOM)
        if isinstance(value, sympy.Float):
            shown = f"{float(value):g}"
            return Printed(shown, UNARY if shown.startswith("-") else ATOM)
        if isinstance(value, sympy.Integer):
            return Printed(str(value), UNARY if value < 0 else ATOM)
        if value in NAMED_NUMBERS:
            return Printed(sympy.latex(value), ATOM)
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
    frobenius="‖{0}‖_F",
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
    frobenius=r"\left\lVert {0} \right\rVert_F",
    maximum=r"\max\left({0}, {1}\right)",
    call=r"{0}\left({1}\right)",
)


# Symbols of words as math-mode LaTeX that KaTeX, MathJax 3 and pdflatex all know.
MATH_SYMBOLS = {
    "×": r"\times", "∂": r"\partial", "′": "'", "⊙": r"\odot", "−": "-", "𝟏": r"\mathbf{1}",
    "∇": r"\nabla", "∘": r"\circ", "⊘": r"\oslash", "‖": r"\|", "·": r"\cdot", "…": r"\dots",
    "→": r"\to", "≠": r"\neq", "≤": r"\leq", "≥": r"\geq", "∈": r"\in", "∞": r"\infty",
    "≈": r"\approx", "✓": r"\checkmark", "✗": r"\times", "√": r"\surd", "∑": r"\sum",
    "½": r"\tfrac{1}{2}", "⊤": r"\top", "≡": r"\equiv", "±": r"\pm",
}  # fmt: skip
_TEXT_MATH = {
    **{char: f"${latex}$" for char, latex in MATH_SYMBOLS.items()},
    **{char: f"$\\{name}$" for char, name in UNICODE_GREEK.items()},
    "′": "'", "−": "-",
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


# -- words with formulas in them: rule annotations, notes, messages -----------------------
# A phrase such as "stable form (‖u‖² = uᵀu)" or "shaped like W1, 30×784" is read
# token by token: English words stay words, names, numbers and symbols become math.
# The math-mode form (``latex_words``) puts the words in \text{…} holding letters and
# plain punctuation only, since MathJax 3 shows any macro inside \text literally and
# KaTeX reads %, #, & and _ there as TeX; a space between words and formula is ~, as
# MathJax's "\ " is a macro that it expands by copying the rest of the formula, and a
# long derivation overflows its 5 KB buffer (KaTeX has no \$ in math: a $ is "?").
# The text-mode form (``latex_prose``) is for paragraphs of a document, math in $…$.
_LETTER = r"[^\W\d_⁰¹²³⁴⁵⁶⁷⁸⁹ᵀ₀₁₂₃₄₅₆₇₈₉]"
_WORD_TOKEN = re.compile(
    (
        r"(?P<space>\s+)"
        r"|(?P<super>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀ]+)"
        r"|(?P<sub>[₀₁₂₃₄₅₆₇₈₉]+)"
        r"|(?P<word>{letter}+(?:-{letter}+)*(?:'s)?[0-9]*(?:_[A-Za-z0-9]+)?)"
        r"|(?P<number>[0-9]+(?:\.[0-9]+)?)"
        r"|(?P<other>.)"
    ).replace("{letter}", _LETTER),
    re.S,
)
# Function names a formula in words may call: math when applied, words otherwise.
MATH_FUNCTIONS = {
    "log": r"\log", "exp": r"\exp", "det": r"\det", "max": r"\max", "min": r"\min",
    "sin": r"\sin", "cos": r"\cos", "tanh": r"\tanh", "tr": r"\operatorname{tr}",
    **{name: rf"\operatorname{{{name}}}" for name in (
        "sum", "softplus", "softmax", "logsumexp", "diag", "diagpart", "inv", "relu", "step",
        "sqrt", "abs", "sign", "logdet",
    )},
}  # fmt: skip
# Characters that may stand in \text{…} in every renderer (pdflatex's OT1 text fonts
# print < > | " as other glyphs, so those are math).
_PLAIN_TEXT = set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'()-/[]*+=@"
)
_PUNCTUATION = set(".,;:!?")
_MATH_ASCII = {
    "{": r"\{", "}": r"\}", "_": r"\_", "\\": r"\backslash", "%": r"\%", "#": r"\#",
    "&": r"\&", "$": "?", "~": r"\sim", "^": r"\wedge", "*": r"\cdot", '"': "''",
}  # fmt: skip
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


class _Token(NamedTuple):
    kind: str
    text: str


def _is_name(word: str) -> bool:
    """A name in a formula: one letter, or letters with an index (W1, δ2, x_out)."""
    letters = re.match(r"[^\W\d_]+", word)
    if letters is None or "-" in word or "'" in word:
        return False
    return len(letters.group()) == 1 or letters.group() != word


def _starts_sentence(tokens: list[_Token], i: int) -> bool:
    before = [t.text for t in tokens[:i] if t.kind != "space"]
    return not before or before[-1] in (".", ":", "!", "?")


def _classify(tokens: list[_Token]) -> list[bool]:
    """Which tokens are math.  Decided right to left for function words (log σ(u):
    log is applied to a formula), and with a stack for parentheses: a parenthesis
    opened in a formula holds a formula, one opened in words holds words."""
    solid = [i for i, t in enumerate(tokens) if t.kind != "space"]
    math = [False] * len(tokens)

    def neighbour(i: int, step: int) -> int | None:
        j = i + step
        while 0 <= j < len(tokens) and tokens[j].kind == "space":
            j += step
        return j if 0 <= j < len(tokens) else None

    def starts_formula(i: int | None) -> bool:
        """Does token i begin a formula on its own (a name, a number, a symbol)?"""
        if i is None:
            return False
        t = tokens[i]
        if t.kind in ("number", "super", "sub"):
            return True
        if t.kind == "word":
            return (
                _is_name(t.text)
                or t.text in UNICODE_GREEK
                or (t.text in MATH_FUNCTIONS and math[i])
            )
        return t.text not in _PLAIN_TEXT or t.text in "=+"

    # First pass, right to left: names, numbers, symbols, applied functions.
    for i in reversed(solid):
        t = tokens[i]
        after = neighbour(i, 1)
        if t.kind in ("number", "super", "sub"):
            math[i] = True
        elif t.kind == "word":
            if t.text in MATH_FUNCTIONS:
                glued = after == i + 1 and tokens[i + 1].text == "("
                # log σ(u), log det X: applied to a formula; "step 2" is words
                applied = after is not None and math[after] and starts_formula(after)
                number = after is not None and tokens[after].kind == "number"
                math[i] = glued or (applied and not number)
            elif t.text == "a" or (t.text in ("A", "I") and _starts_sentence(tokens, i)):
                # the article (A and I only opening a sentence), unless in a formula
                follows = tokens[after] if after is not None else None
                math[i] = follows is None or follows.kind != "word" or _is_name(follows.text)
            else:
                differentiated = i > 0 and tokens[i - 1].text in ("∂", "∇")  # ∂activation
                math[i] = (
                    _is_name(t.text) or all(c in UNICODE_GREEK for c in t.text) or differentiated
                )
        elif t.text not in _PLAIN_TEXT or t.text in "=+*":
            math[i] = True
    # Second pass: hyphens and slashes go with a formula beside them; "=:" is one.
    for i in solid:
        t = tokens[i]
        before, after = neighbour(i, -1), neighbour(i, 1)
        if t.kind == "other" and t.text in "-/":
            math[i] = any(math[j] for j in (before, after) if j is not None)
        elif t.text == ":" and before == i - 1 and tokens[i - 1].text == "=":
            math[i] = True
    # Third pass, innermost first: a call's parentheses (σ(…), sum(δ, axis=1)) hold a
    # formula, words and commas included; other parentheses are a formula's when all
    # they hold is, else words ("(with sum, scalar expansion)").
    pairs, stack = [], []
    for i in solid:
        if tokens[i].text in "([":
            stack.append(i)
        elif tokens[i].text in ")]" and stack:
            pairs.append((stack.pop(), i))
    for start, end in pairs:  # closed in order: every inner pair before its outer one
        call = start > 0 and tokens[start - 1].kind != "space" and math[start - 1]
        inside = [j for j in range(start + 1, end) if tokens[j].kind != "space"]
        if call:
            for j in inside:
                math[j] = True
        math[start] = math[end] = call or bool(inside) and all(math[j] for j in inside)
    return math


def _runs(words: str) -> list[tuple[bool, list[_Token]]]:
    """The phrase cut into runs of words and runs of formula, spaces kept."""
    tokens = [_Token(m.lastgroup or "other", m.group()) for m in _WORD_TOKEN.finditer(words)]
    math = _classify(tokens)
    runs: list[tuple[bool, list[_Token]]] = []
    for i, token in enumerate(tokens):
        kind = math[i]
        if token.kind == "space":  # a space inside a formula belongs to it, else to words
            prev = next((math[j] for j in range(i - 1, -1, -1) if tokens[j].kind != "space"), None)
            nxt = next(
                (math[j] for j in range(i + 1, len(tokens)) if tokens[j].kind != "space"), None
            )
            kind = bool(prev and nxt)
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(token)
        else:
            runs.append((kind, [token]))
    return runs


def _formula(tokens: list[_Token], names: dict[str, str]) -> str:
    """A run of formula tokens as math-mode LaTeX."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        text = token.text
        if token.kind == "space":
            out.append(" ")
        elif token.kind == "number":
            out.append(text)
        elif token.kind == "super":
            shown = "".join(
                r"\top" if c == "ᵀ" else c for c in text.translate(_UNSUPERSCRIPT_PLAIN)
            )
            if out and out[-1] == r"\circ":  # A∘²: the Hadamard power
                out[-1] = rf"^{{\circ {shown}}}"
            else:
                out.append(("{}" if not out or out[-1] == " " else "") + f"^{{{shown}}}")
        elif token.kind == "sub":
            out.append(
                ("{}" if not out or out[-1] == " " else "") + f"_{{{text.translate(_SUBSCRIPTS)}}}"
            )
        elif token.kind == "word":
            if text in names:
                out.append(names[text])
            elif text in MATH_FUNCTIONS and (i + 1 < len(tokens) and tokens[i + 1].text in "( "):
                out.append(MATH_FUNCTIONS[text])
            elif (
                _is_name(text)
                or all(c in UNICODE_GREEK for c in text)
                or (i > 0 and tokens[i - 1].text in ("∂", "∇"))
            ):
                out.append(latex_name(text))
            else:
                out.append(rf"\text{{{_plain(text)}}}")
        elif text in MATH_SYMBOLS:
            out.append(MATH_SYMBOLS[text])
        elif text in UNICODE_GREEK:
            out.append("\\" + UNICODE_GREEK[text])
        elif text in _MATH_ASCII:
            out.append(_MATH_ASCII[text])
        elif text.isascii():
            out.append(text)
        else:
            out.append("?")  # no renderer's fonts are sure to have it
    joined = ""
    for piece in out:  # a command and a following letter must not run together
        if joined and re.search(r"\\[A-Za-z]+$", joined) and re.match(r"[A-Za-z0-9]", piece):
            joined += " "
        joined += piece
    return joined.strip()


_UNSUPERSCRIPT_PLAIN = str.maketrans(dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-", strict=True)))


def _plain(words: str) -> str:
    """Words for \\text{…}: only characters every renderer prints as themselves."""
    return "".join(c if c in _PLAIN_TEXT else "?" for c in words)


def latex_words(words: str, names: dict[str, str] | None = None) -> str:
    """Words that may hold formulas, as math-mode LaTeX: words in \\text{…}, formulas
    in math (‖u‖² is \\|u\\|^{2}, ∂y/∂x is \\partial y/\\partial x).  names maps a
    name as the terminal writes it to its LaTeX (b1 → \\mathbf{b}_{1})."""
    names = names or {}
    out = []
    for math, tokens in _runs(words):
        if math:
            out.append(_formula(tokens, names))
            continue
        text = "".join(t.text for t in tokens)
        core = text.strip()
        lead = "~" if text[:1].isspace() and out else ""
        trail = "~" if text[-1:].isspace() and core else ""
        if core:
            out.append(lead + rf"\text{{{_plain(core)}}}" + trail)
        elif out:
            out.append("~")
    return "".join(out)


def latex_prose(words: str, names: dict[str, str] | None = None) -> str:
    """Words that may hold formulas, for a paragraph of a LaTeX document: words
    escaped for text mode, formulas in $…$."""
    names = names or {}
    return "".join(
        f"${_formula(tokens, names)}$" if math else _text_mode("".join(t.text for t in tokens))
        for math, tokens in _runs(words)
    )


# -- the legend: one table of the symbols a derivation may use ------------------------------
@dataclass(frozen=True)
class Notation:
    """One symbol of the lecture's notation: as the terminal writes it, as LaTeX writes
    it, and what it means in words (Unicode, with formulas: ``latex_words`` and
    ``latex_prose`` typeset them).  A derivation uses the symbol when its LaTeX matches
    one of the marks."""

    text: str
    latex: str
    words: str
    marks: tuple[str, ...] = ()


NOTATION = (
    Notation("⊙", r"\odot", "the Hadamard product: A ⊙ B multiplies A and B entry by entry",
             (r"\\odot",)),
    Notation("⊘", r"\oslash",
             "entrywise division: A ⊘ B divides entry by entry; 1 ⊘ A holds the reciprocals "
             "of the entries of A", (r"\\oslash",)),
    Notation("A∘ᵏ", r"A^{\circ k}",
             "the Hadamard power: A∘² = A ⊙ A squares every entry (A² would be the matrix "
             "product A A)", (r"\^\{\\circ",)),
    Notation("σ", r"\sigma", "the logistic sigmoid σ(t) = 1/(1 + exp(−t)), applied to every entry",
             (r"\\sigma(?!')",)),
    Notation("σ′", r"\sigma'",
             "the derivative of the sigmoid, σ′(t) = σ(t) (1 − σ(t)), applied to every entry",
             (r"\\sigma'",)),
    Notation("f′", r"f'", "the derivative of the elementwise function f, applied to every entry",
             (r"\\(?!sigma')[A-Za-z]+(?:\{[a-z]+\})?'\\left\(",)),
    Notation("step", r"\operatorname{step}",
             "the unit step: step(t) = 1 for t > 0 and 0 otherwise, the derivative of relu",
             (r"\\operatorname\{step\}",)),
    Notation("relu", r"\operatorname{relu}",
             "the rectifier relu(t) = max(0, t), applied to every entry",
             (r"\\operatorname\{relu\}",)),
    Notation("softplus", r"\operatorname{softplus}",
             "softplus(t) = log(1 + exp(t)), applied to every entry",
             (r"\\operatorname\{softplus\}",)),
    Notation("𝟏", r"\mathbf{1}",
             "a column of ones: A 𝟏 adds up each row of A (the terminal writes sum(A, axis=1)) "
             "and 𝟏ᵀ A each column (sum(A, axis=0))", (r"\\mathbf\{1\}",)),
    Notation("B", "B", "the batch size: the number of examples, one per column of X"),
    Notation("I", "I", "the identity matrix (with its size: I with index n is n × n)",
             (r"(?<![A-Za-z\\])I(?![A-Za-z])",)),
    Notation("Aᵀ", r"A^\top", "the transpose of A", (r"\\top",)),
    Notation("diag", r"\operatorname{diag}",
             "diag(v): the square matrix with the entries of v on its diagonal, zeros elsewhere",
             (r"\\operatorname\{diag\}",)),
    Notation("A⁻¹", r"A^{-1}",
             "the inverse of the square matrix A; A⁻ᵀ is the transpose of the inverse",
             (r"\^\{-1\}", r"\^\{-\\top\}")),
    Notation("tr", r"\operatorname{tr}", "the trace: the sum of the diagonal entries",
             (r"\\operatorname\{tr\}",)),
    Notation("det", r"\det", "the determinant", (r"\\det",)),
    Notation("softmax", r"\operatorname{softmax}",
             "softmax(u) = exp(u) ⊘ sum(exp(u)): positive entries that add up to 1",
             (r"\\operatorname\{softmax\}",)),
    Notation("logsumexp", r"\operatorname{logsumexp}",
             "logsumexp(u) = log sum(exp(u)), computed without overflow",
             (r"\\operatorname\{logsumexp\}",)),
    Notation("‖·‖", r"\lVert\cdot\rVert",
             "the Euclidean norm of a vector, the Frobenius norm of a matrix",
             (r"\\lVert",)),
    Notation("δ", r"\boldsymbol{\delta}",
             "the error of a layer: the gradient of the cost with respect to the layer's "
             "weighted input z, shaped like z", (r"\\delta",)),
    Notation("=:", "=:", "names what stands on its left: … =: δ defines δ", (r"=:",)),
)  # fmt: skip
BATCH = "B"  # the batch dimension's name (nn.Network): its legend entry's symbol


def notation_used(latex: str, dimensions: set[str]) -> list[Notation]:
    """The entries of the table that LaTeX of a derivation uses, in the table's order;
    dimensions are the names of its symbolic sizes (B, the batch size, is one)."""
    return [
        entry
        for entry in NOTATION
        if any(re.search(mark, latex) for mark in entry.marks)
        or (entry.text == BATCH and BATCH in dimensions)
    ]


def _markdown_text(words: str) -> str:
    """Words for Markdown: the characters that would start emphasis, code or math escaped."""
    # (never [ or ]: \[ would open display math in Jupyter's Markdown)
    return re.sub(r"([\\`*_$<])", r"\\\1", words)


def markdown_prose(words: str, names: dict[str, str] | None = None) -> str:
    """Words that may hold formulas, for Markdown: words as they are, formulas in $…$."""
    names = names or {}
    return "".join(
        f"${_formula(tokens, names)}$" if math else _markdown_text("".join(t.text for t in tokens))
        for math, tokens in _runs(words)
    )
