"""Text to expressions, never by eval: ``mc.parse(text, shapes=None, syntax="auto")``.

Three syntaxes.  LaTeX (read by ``latex_reader``; chosen when the text has a
backslash or a brace).  numpy-like: ``sum((sigmoid(W@x + b) - y)**2)/2``, ``*`` is
elementwise, ``@`` the matrix product, ``.T`` the transpose.  MATLAB-like
(MatrixCalculus.org): ``x'*A*x``, ``*`` is the matrix product, ``.*``, ``./``,
``.^`` elementwise, ``'`` the transpose, ``^`` a power.  MATLAB-like text is
first rewritten token by token into numpy-like text (with a map back to the
original positions); numpy-like text is read by Python's ``ast.parse`` and
only a whitelist of node types and function names is accepted.

Shapes: declared ones (``{"W": ("m", "n"), "x": ("n",), "c": ()}``), the
rest by MatrixCalculus.org's convention (names starting a–g are scalars,
h–z vectors, A–Z matrices) with their sizes inferred by unifying dimensions
across the expression.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Mapping

from . import expr as E
from .builder import Builder, screen
from .errors import ParseError, ShapeError
from .latex_reader import read_latex

MATLAB_ONLY = re.compile(r"'|\.\*|\./|\.\^|\^")
NUMPY_ONLY = re.compile(r"@|\*\*|\.T\b")
LATEX_ONLY = re.compile(r"[\\{}&]")


ONE_LINE = "one formula, on one line"
REFUSED = {"#": "formulas have no comments; '#' is not allowed", "\n": ONE_LINE, "\r": ONE_LINE,
           ";": ONE_LINE}  # fmt: skip


def _screen(text: object) -> str:
    return screen(text, REFUSED)


# -- MATLAB-like text to numpy-like text ---------------------------------------------------------
TOKEN = re.compile(
    r"\s+|(?P<num>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)|"
    r"(?P<op>\.\*|\./|\.\^|[-+*/^'(),=\[\]])"
)


def matlab_to_numpy(text: str) -> tuple[str, list[int]]:
    """The numpy-like spelling, and for each of its characters the original position."""
    out: list[str] = []
    where: list[int] = []
    position, previous = 0, ""
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"parse: unexpected {text[position]!r}", text, position)
        token = match.group(0)
        if match.group("op"):
            if token == "'":
                if previous not in ("name", "num", ")", "'"):
                    raise ParseError("parse: a transpose ' must follow an operand", text, position)
                token = ".T"
            else:
                token = {".*": "*", "./": "/", ".^": "**", "^": "**", "*": "@"}.get(token, token)
            kind = token if token in (")", ".T") else "op"
            previous = "'" if kind == ".T" else kind
        elif match.group("num"):
            previous = "num"
        elif match.group("name"):
            previous = "name"
        out.append(token)
        where.extend([position] * len(token))
        position = match.end()
    return "".join(out), where


def _read(text: str, shapes, where: list[int] | None, original: str) -> E.Expr:
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": the error says it
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        if not error.offset:  # Python reports an early end of input at offset 0
            raise ParseError("parse: the formula ends too early", original, len(original)) from None
        offset = error.offset - 1
        position = where[min(offset, len(where) - 1)] if where else offset
        raise ParseError(f"parse: {error.msg}", original, position) from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("parse: the formula is nested too deeply", original, 0) from None
    builder = Builder(original, shapes, where)
    builder.check(tree)
    builder.infer(tree)
    return builder.build(tree)


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
    """The expression, and the syntax it was read in ("numpy" or "matlab")."""
    if syntax == "latex" or (
        syntax == "auto" and isinstance(text, str) and LATEX_ONLY.search(text)
    ):
        return read_latex(text, shapes), "latex"
    text = _screen(text)
    if syntax not in ("auto", "numpy", "matlab"):
        raise ParseError(
            f"parse: syntax must be 'auto', 'numpy', 'matlab' or 'latex', got {syntax!r}"
        )
    if syntax == "numpy":
        return _read(text, shapes, None, text), "numpy"
    if syntax == "matlab":
        converted, where = matlab_to_numpy(text)
        return _read(converted, shapes, where, text), "matlab"
    matlab, numpy_ = MATLAB_ONLY.search(text), NUMPY_ONLY.search(text)
    if matlab and numpy_:
        first = max(matlab.start(), numpy_.start())
        raise ParseError(
            f"parse: the text mixes MATLAB-like {matlab.group(0)!r} and numpy-like "
            f"{numpy_.group(0)!r} syntax",
            text,
            first,
        )
    if matlab:
        return parse_with_syntax(text, shapes, "matlab")
    try:
        return _read(text, shapes, None, text), "numpy"
    except ShapeError:
        try:
            return parse_with_syntax(text, shapes, "matlab")
        except (ShapeError, ParseError):
            pass
        raise
