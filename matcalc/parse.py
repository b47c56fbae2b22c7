"""Text to expressions, never by eval: ``mc.parse(text, shapes=None, syntax="auto")``.

Three syntaxes.  LaTeX (read by ``latex_reader``; chosen when the text has a
backslash, a brace or ``&``).  numpy-like: ``sum((sigmoid(W@x + b) - y)**2)/2``,
``*`` is elementwise, ``@`` the matrix product, ``.T`` the transpose, ``**`` a
power.  MATLAB-like (MatrixCalculus.org): ``x'*A*x``, ``*`` is the matrix
product, ``.*``, ``./``, ``.^`` elementwise, ``'`` the transpose, ``A^2`` the
matrix power of a square matrix (``A^-1`` its inverse), ``A/B`` right division
A·B⁻¹.

``syntax="auto"`` decides only on evidence that cannot mean anything else:
``@``, ``**``, ``.T`` are numpy's; ``'``, ``.*``, ``./``, ``.^`` MATLAB's.
Without either, the text is read both ways.  Where the two readings agree
(every ``*`` has a scalar operand), or the shapes admit only one of them
(``A*x``: a matrix times a vector is a matrix product), that one is taken;
otherwise the text is refused with both readings spelled out and the way to
choose.  No reading is ever guessed.

Every text is first cut into tokens here, so an error names what is wrong in
the user's words; then it is spelled as Python and read by ``ast.parse``, of
which only a whitelist of node types and function names is accepted
(``builder``).  Python keywords are names here (``lambda`` is a variable).

Shapes: declared ones (``{"W": ("m", "n"), "x": ("n",), "c": ()}``), the
rest by MatrixCalculus.org's convention (names starting a–g are scalars,
h–z vectors, A–Z matrices) with their sizes inferred by unifying dimensions
across the expression.
"""

from __future__ import annotations

import ast
import keyword
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from . import expr as E
from .builder import Builder, screen
from .errors import ParseError, ShapeError
from .latex_reader import read_latex

LATEX_ONLY = re.compile(r"[\\{}&]")
NUMPY_EVIDENCE = {"@", "**", ".T"}
MATLAB_EVIDENCE = {"'", ".*", "./", ".^"}
MATLAB_FUNCTIONS = {"norm1", "norm2", "vector", "matrix"}  # MatrixCalculus.org's own
SYNTAXES = ("auto", "numpy", "matlab", "latex")

REFUSED = {
    "#": "formulas have no comments; '#' is not allowed",
    ";": "one formula at a time; ';' is not allowed",
}


# -- tokens ----------------------------------------------------------------------------------
TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<num>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)"
    r"|(?P<prefix>(?:numpy|np)\.(?:linalg\.)?)(?=[A-Za-z_])|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>\*\*|\.\*|\./|\.\^|\.T(?!\w)|[-+*/^'@(),=\[\]])"
)
OPERAND_END = {"name", "num", ")", "'", ".T", "]"}
FIXES = {  # a character that is no operator here, and what to write instead
    "%": "'%' is not an operator in a formula",
    "!": "'!' is not an operator in a formula",
    "<": "comparisons are not formulas",
    ">": "comparisons are not formulas",
    '"': "quotes are not allowed in a formula",
    "$": "'$' is not allowed in a formula; for LaTeX, leave out the $ signs",
    "|": "|x| is LaTeX (with a backslash command somewhere); in text write abs(x) or norm(x)",
    ":": "':' is not allowed in a formula",
    "~": "'~' is not allowed in a formula",
    ".": "a '.' must start .T, .*, ./, .^ or a number",
}


def _unexpected(text: str, position: int) -> str:
    """Why the character at position starts no token, and what to write instead."""
    method = re.match(r"\.([A-Za-z_]\w*)\s*\(", text[position:])
    if method:
        return f".{method.group(1)}(…) methods are not read: write {method.group(1)}(x, …)"
    char = text[position]
    return FIXES.get(char, f"unexpected {char!r}")


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name" or the operator itself
    text: str
    start: int
    prefixed: bool = False  # written np.exp, numpy.sum: numpy's own name


def _is_evidence(token: Token, syntax: str) -> bool:
    """Does this token mean one syntax and no other?"""
    if syntax == "numpy":
        return token.kind in NUMPY_EVIDENCE or token.prefixed
    return token.kind in MATLAB_EVIDENCE or (
        token.kind == "name" and token.text in MATLAB_FUNCTIONS
    )


def tokens(text: str) -> list[Token]:
    """The text's tokens; an error, at its position, for anything that cannot be one.
    ``np.`` and ``numpy.`` (``np.linalg.``) before a function name are dropped."""
    out: list[Token] = []
    position, prefixed = 0, False
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"parse: {_unexpected(text, position)}", text, position)
        kind = match.lastgroup or "op"
        token = match.group(0)
        if kind == "op":
            kind = token
        if kind == "num" and re.match(r"[xXbBoO_]\w", text[match.end() : match.end() + 2]):
            if token == "0" or text[match.end()] == "_":
                raise ParseError(
                    "parse: write numbers in decimal, without _ (1000, 0.5, 1e-3)", text, position
                )
        if kind == "num" and re.match(r"[A-Za-z_]", text[match.end() : match.end() + 1]):
            name = re.match(r"\w+", text[match.end() :]).group(0)  # type: ignore[union-attr]
            raise ParseError(
                f"parse: a number directly followed by a name: write {token}*{name} "
                f"(or {token}@{name})",
                text,
                position,
            )
        if kind == "'" and (not out or out[-1].kind not in OPERAND_END):
            raise ParseError(
                "parse: a transpose ' must follow an operand (text in quotes, like 'fro', is "
                "not read: norm(X) is the Frobenius norm)"
                if re.match(r"'\w+'", text[position:])
                else "parse: a transpose ' must follow an operand",
                text,
                position,
            )
        if kind == "prefix":
            prefixed = True  # numpy's name space: evidence of numpy syntax
        elif kind != "space":
            if kind == "name" and prefixed and token == "e":  # np.e is Euler's number
                kind, token = "num", "exp(1)"
            elif kind == "name" and prefixed and token != "pi":
                if not re.match(r"\s*\(", text[match.end() :]):
                    raise ParseError(
                        f"parse: np.{token} is not a numpy function or constant here",
                        text,
                        position,
                    )
            _check_juxtaposition(out, kind, text, position)
            out.append(Token(kind, token, position, prefixed))
            prefixed = False
        position = match.end()
    return out


def _check_juxtaposition(before: list[Token], kind: str, text: str, position: int) -> None:
    """Two operands side by side (``2 x``, ``(a)(b)``, ``x y``) are refused with the fix:
    text has no implicit product."""
    if not before or before[-1].kind not in OPERAND_END:
        return
    if kind == "(" and before[-1].kind == "name":
        return  # a call
    if kind in ("name", "num", "("):
        raise ParseError(
            "parse: two operands with no operator between them: write * (or @) for a product",
            text,
            position,
        )


# -- tokens to Python text, per syntax -------------------------------------------------------
NUMPY_SPELLING = {
    "^": "in numpy syntax the power is **, not ^ (or choose syntax='matlab')",
    "'": "in numpy syntax the transpose is .T, not ' (or choose syntax='matlab')",
    ".*": "in numpy syntax the elementwise product is *, not .* (or choose syntax='matlab')",
    "./": "in numpy syntax the elementwise quotient is /, not ./ (or choose syntax='matlab')",
    ".^": "in numpy syntax the power is **, not .^ (or choose syntax='matlab')",
}
MATLAB_SPELLING = {
    "@": "in MATLAB syntax the matrix product is *, not @ (or choose syntax='numpy')",
    "**": "in MATLAB syntax the power is ^ or .^, not ** (or choose syntax='numpy')",
    ".T": "in MATLAB syntax the transpose is ', not .T (or choose syntax='numpy')",
}
# how each reading spells a token in Python; "casual" is text with evidence for neither
# syntax, read as numpy but with ^ as the elementwise power
PYTHON = {
    "numpy": {},
    "casual": {"^": "**"},
    "matlab": {"'": ".T", ".*": "*", "./": "/", ".^": "**", "^": "**", "*": "@"},
}
NOT_NAMES = {"True", "False", "None"}


@dataclass
class Spelled:
    """A formula spelled as Python: the text, each character's position in the original,
    each operator's original token by its Python offset, and the keywords renamed."""

    python: str
    where: list[int]
    operators: dict[int, str]
    renamed: dict[str, str]


def spell(text: str, found: list[Token], reading: str) -> Spelled:
    refused = {"numpy": NUMPY_SPELLING, "matlab": MATLAB_SPELLING}.get(reading, {})
    python: list[str] = []
    where: list[int] = []
    operators: dict[int, str] = {}
    renamed: dict[str, str] = {}
    _check_power_chains(text, found)
    length = -1  # of the Python text so far, counting the space before the next token
    for token in found:
        if token.kind in refused:
            raise ParseError(f"parse: {refused[token.kind]}", text, token.start)
        out = PYTHON[reading].get(token.kind, token.text)
        if token.kind == "name" and token.text in NOT_NAMES:
            raise ParseError(f"parse: {token.text} is not allowed in a formula", text, token.start)
        if token.kind == "name" and (
            keyword.iskeyword(token.text) or keyword.issoftkeyword(token.text)
        ):
            out = _alias(token.text, text, renamed)
        if token.kind not in ("name", "num"):
            operators[length + 1] = token.kind
        python.append(out)
        length += len(out) + 1
        where.extend([token.start] * (len(out) + 1))  # +1: the space joining the tokens
    return Spelled(" ".join(python), where, operators, renamed)


def _alias(word: str, text: str, renamed: dict[str, str]) -> str:
    """A Python keyword used as a name gets an identifier the text does not use."""
    for alias, original in renamed.items():
        if original == word:
            return alias
    number = 0
    while f"{word}_k{number}" in text:
        number += 1
    renamed[f"{word}_k{number}"] = word
    return f"{word}_k{number}"


def _check_power_chains(text: str, found: list[Token]) -> None:
    """``a^b^c`` is (a^b)^c in MATLAB but a^(b^c) in Python: refused, parentheses asked
    (``a**b**c`` is Python's own spelling, and means a**(b**c))."""
    depth, open_power = 0, {0: False}
    for index, token in enumerate(found):
        if token.kind in ("(", "["):
            depth += 1
            open_power[depth] = False
        elif token.kind in (")", "]"):
            depth = max(depth - 1, 0)
        elif token.kind in ("^", ".^"):
            if open_power.get(depth):
                raise ParseError(
                    "parse: a^b^c is read (a^b)^c in MATLAB but a^(b^c) in numpy; "
                    "write the parentheses",
                    text,
                    token.start,
                )
            open_power[depth] = True
        elif token.kind in ("+", "-", "*", "/", "@", ".*", "./", ",", "=") and not (
            token.kind == "-" and index > 0 and found[index - 1].kind in ("^", ".^")
        ):  # a minus right after a power operator is the exponent's sign (2^-1)
            open_power[depth] = False


# -- reading ---------------------------------------------------------------------------------
def _syntax_message(error: SyntaxError) -> str:
    """Python's complaint in the user's words."""
    said = error.msg or ""
    if "too many nested" in said:
        return "the formula is nested too deeply"
    if "never closed" in said:
        return "this bracket is never closed"
    if "unmatched" in said:
        return "this bracket closes nothing"
    if "does not match" in said:
        return "this bracket does not match the one it closes"
    if "=" in (error.text or "")[max((error.offset or 1) - 1, 0) :][:1]:
        return "a formula, not an equation: leave out 'f =' ('=' is read only in axis=0)"
    return "expected an operand (a name, a number or a bracket) here"


def _read(text: str, spelled: Spelled, shapes, reading: str) -> tuple[E.Expr, Builder]:
    source = spelled.python  # tokens joined by one space: no leading space, ast offsets fit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        offset = (error.offset or 0) - 1
        if not error.offset or offset >= len(source):
            raise ParseError(
                "parse: the formula ends too early", text, len(text.rstrip())
            ) from None
        position = spelled.where[min(offset, len(spelled.where) - 1)]
        failed = ParseError(f"parse: {_syntax_message(error)}", text, position)
        failed.syntactic = True  # type: ignore[attr-defined]  # the same in every reading
        raise failed from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("parse: the formula is nested too deeply", text, 0) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in spelled.renamed:
            node.id = spelled.renamed[node.id]
    builder = Builder(text, shapes, spelled.where, reading=reading, operators=spelled.operators)
    builder.check(tree)
    builder.infer(tree)
    return builder.build(tree), builder


def declarations(expr: E.Expr) -> dict[str, tuple]:
    """The shapes of expr's variables as parse declarations, so text about expr
    (a claimed derivative) reads its names with the same shapes."""
    out: dict[str, tuple] = {}
    for name, var in E.variables(expr).items():
        if var.kind == "scalar":
            out[name] = ()
        elif var.kind == "vector":
            out[name] = (str(var.rows), *sorted(var.properties))
        else:
            out[name] = (str(var.rows), str(var.cols), *sorted(var.properties))
    return out


def parse(text: str, shapes: Mapping[str, object] | None = None, syntax: str = "auto") -> E.Expr:
    """The expression a formula spells; see the module's docstring for the syntaxes."""
    return parse_with_syntax(text, shapes, syntax)[0]


def parse_with_syntax(
    text: str, shapes: Mapping[str, object] | None = None, syntax: str = "auto"
) -> tuple[E.Expr, str]:
    """The expression, and the syntax it was read in ("numpy", "matlab" or "latex")."""
    if syntax not in SYNTAXES:
        raise ParseError(
            f"parse: syntax must be 'auto', 'numpy', 'matlab' or 'latex', got {syntax!r}"
        )
    if syntax == "latex" or (
        syntax == "auto" and isinstance(text, str) and LATEX_ONLY.search(text)
    ):
        return read_latex(text, shapes), "latex"
    text = screen(text, REFUSED)
    found = tokens(text)
    if syntax != "auto":
        return _read(text, spell(text, found, syntax), shapes, syntax)[0], syntax
    numpy_ = next((t for t in found if _is_evidence(t, "numpy")), None)
    matlab = next((t for t in found if _is_evidence(t, "matlab")), None)
    if matlab and numpy_:
        raise ParseError(
            f"parse: the text mixes MATLAB-like {matlab.text!r} and numpy-like "
            f"{numpy_.text!r} syntax",
            text,
            max(matlab.start, numpy_.start),
        )
    if numpy_ or matlab:
        reading = "numpy" if numpy_ else "matlab"
        return _read(text, spell(text, found, reading), shapes, reading)[0], reading
    return _either(text, found, shapes)


def _either(text: str, found: list[Token], shapes) -> tuple[E.Expr, str]:
    """Text with evidence for neither syntax: read both ways; take the reading the shapes
    allow, or the one both give; refuse, naming both, when they differ."""
    numpy_: E.Expr | None = None
    try:
        numpy_, builder = _read(text, spell(text, found, "casual"), shapes, "casual")
    except (ParseError, ShapeError) as error:
        if getattr(error, "syntactic", False):
            raise
        numpy_error = error
    else:
        if not builder.points and not builder.broadcasts:
            return numpy_, "numpy"
    try:
        matlab = _read(text, spell(text, found, "matlab"), shapes, "matlab")[0]
    except (ParseError, ShapeError) as error:
        if numpy_ is None:
            raise numpy_error from None
        if getattr(error, "exponent", False) and any(p[1] == "^" for p in builder.points):
            raise  # A^k, k no integer: MATLAB's matrix power, or elementwise? say, not guess
        return numpy_, "numpy"
    if numpy_ is None or numpy_ is matlab or builder.broadcasts or not builder.points:
        # only MATLAB fits; both agree; or the elementwise reading needs broadcasting
        # (A*x, A^-1*x): a matrix times a vector is the matrix product
        return matlab, "matlab"
    raise _ambiguous(text, builder.points[0], numpy_, matlab)


AMBIGUOUS = {
    "*": (
        "in numpy syntax * is the elementwise product",
        "in MATLAB syntax (MatrixCalculus.org) the matrix product",
        "write @ for the matrix product or .* for the elementwise one",
    ),
    "^": (
        "as an elementwise power (numpy's **)",
        "in MATLAB syntax ^ of a square matrix is the matrix power",
        "write .^ for the elementwise power, or A*A, inv(A) for the matrix ones",
    ),
    "/": (
        "in numpy syntax / is elementwise",
        "in MATLAB syntax A/B is right division, A·inv(B)",
        "write A*inv(B) (or A@inv(B)) or ./ for the elementwise quotient",
    ),
}


AMBIGUOUS["sum(X, 1)"] = (
    "in numpy syntax sum(X, 1) sums along axis 1 (each row)",
    "in MATLAB syntax along dimension 1 (each column)",
    "write sum(X, axis=1) or sum(X, axis=0)",
)


def _ambiguous(text: str, point: tuple[int, str], numpy_: E.Expr, matlab: E.Expr) -> ParseError:
    position, operator = point
    elementwise, matrix, fix = AMBIGUOUS[operator]
    return ParseError(
        f"parse: {operator!r} here is ambiguous: {elementwise}, giving {numpy_}; {matrix}, "
        f"giving {matlab}. To choose, {fix}, or give the syntax: syntax='numpy' or "
        "syntax='matlab' (--syntax on the command line)",
        text,
        position,
    )
