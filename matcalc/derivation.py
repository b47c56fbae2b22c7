"""The model of a step-by-step derivation: ``Step``s made of pieces, and the
``Derivation`` that holds them, with every way to read it (text, LaTeX,
Markdown, a LaTeX document, a PDF).  ``stepwise.derive`` builds them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import document
from . import expr as E
from . import printing as P
from .errors import DerivativeError
from .notation import ATOM, SUM, Printed, latex_text

# The fixed vocabulary of rule names a step may carry.
VOCABULARY = (
    "layout", "definition", "chain rule", "elementwise binary operation", "Hadamard product",
    "scalar expansion", "sum", "elementwise function", "matrix product", "transpose",
    "broadcast", "trace", "determinant", "inverse", "diagonal", "norm", "softmax",
    "log-sum-exp", "simplification", "stable form", "cancellation", "result",
)  # fmt: skip

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Symbol:
    """A name as printed in text and in LaTeX."""

    text: str
    latex: str


class Versions(Mapping[int, Printed]):
    """A mapping that only grows, seen as it was when the view was taken: every
    version of every key is kept with the count of additions before it, so a
    snapshot is the shared versions and a count (a copy per step of a deep
    derivation's names was quadratic in memory)."""

    def __init__(self, versions: dict[int, list[tuple[int, Printed]]] | None = None,
                 limit: int | None = None, counter: list[int] | None = None) -> None:  # fmt: skip
        self.versions = {} if versions is None else versions
        self.counter = [0] if counter is None else counter  # additions so far, shared
        self.limit = limit  # None: the live mapping

    def put(self, key: int, value: Printed) -> None:
        self.versions.setdefault(key, []).append((self.counter[0], value))
        self.counter[0] += 1

    def frozen(self) -> Versions:
        return Versions(self.versions, self.counter[0], self.counter)

    def _latest(self, key: int) -> Printed | None:
        found = None
        for when, value in self.versions.get(key, ()):
            if self.limit is not None and when >= self.limit:
                break
            found = value
        return found

    def __getitem__(self, key: int) -> Printed:
        found = self._latest(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self._latest(key) is not None

    def __iter__(self) -> Iterator[int]:
        return (key for key in self.versions if key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Names:
    """The derivation's names for subexpressions, by id, for both printers."""

    text: Versions = field(default_factory=Versions)
    latex: Versions = field(default_factory=Versions)
    keep: list[E.Expr] = field(default_factory=list)

    def add(self, node: E.Expr, symbol: Symbol) -> None:
        self.text.put(id(node), Printed(symbol.text, ATOM))
        self.latex.put(id(node), Printed(symbol.latex, ATOM))
        self.keep.append(node)  # ids stay valid while the derivation lives

    def snapshot(self) -> Names:
        """The names as they are now (a step prints with the names known at its time)."""
        return Names(self.text.frozen(), self.latex.frozen(), self.keep)


# -- the pieces a step's formula is made of ---------------------------------------------
class Piece:
    def text(self, names: Names) -> str:  # pragma: no cover - every piece overrides
        raise NotImplementedError

    def latex(self, names: Names) -> str:  # pragma: no cover - every piece overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Formula(Piece):
    """An expression, printed with the derivation's names (top: spelled out)."""

    expr: E.Expr
    top: bool = False

    def text(self, names: Names) -> str:
        return P.text(self.expr, names.text, self.top)

    def latex(self, names: Names) -> str:
        return P.latex(self.expr, names.latex, self.top)


@dataclass(frozen=True)
class Name(Piece):
    symbol: Symbol
    transposed: bool = False

    def text(self, names: Names) -> str:
        return self.symbol.text + ("ᵀ" if self.transposed else "")

    def latex(self, names: Names) -> str:
        return self.symbol.latex + ("^\\top" if self.transposed else "")


@dataclass(frozen=True)
class Partial(Piece):
    """∂num/∂den."""

    num: Symbol
    den: Symbol

    def text(self, names: Names) -> str:
        return f"∂{self.num.text}/∂{self.den.text}"

    def latex(self, names: Names) -> str:
        return rf"\frac{{\partial {self.num.latex}}}{{\partial {self.den.latex}}}"


@dataclass(frozen=True)
class Product(Piece):
    """Pieces side by side (a matrix product)."""

    factors: tuple[Piece, ...]

    def text(self, names: Names) -> str:
        return " ".join(_grouped(f, f.text(names), names) for f in self.factors)

    def latex(self, names: Names) -> str:
        return " ".join(_grouped(f, f.latex(names), names, latex=True) for f in self.factors)


@dataclass(frozen=True)
class Total(Piece):
    """Pieces added (the chain rule's sum over paths)."""

    terms: tuple[Piece, ...]

    def text(self, names: Names) -> str:
        return " + ".join(t.text(names) for t in self.terms)

    def latex(self, names: Names) -> str:
        return " + ".join(t.latex(names) for t in self.terms)


@dataclass(frozen=True)
class Words(Piece):
    text_form: str
    latex_form: str

    def text(self, names: Names) -> str:
        return self.text_form

    def latex(self, names: Names) -> str:
        return rf"\text{{{self.latex_form}}}"


def _grouped(piece: Piece, shown: str, names: Names, latex: bool = False) -> str:
    """A factor of a product in parentheses when it is a sum or starts with a minus
    (read off the printed node's precedence: (1 − y)ᵀ needs none)."""
    needs = isinstance(piece, Total)
    if isinstance(piece, Formula):
        printed = P.render(piece.expr, P.TEXT, names.text, piece.top)
        needs = printed.prec <= SUM or printed.text.startswith("−")
    if not needs:
        return shown
    return rf"\left({shown}\right)" if latex else f"({shown})"


# -- steps -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One line of a derivation: a chain of equal pieces and the rule that justifies it."""

    rule: str
    pieces: tuple[Piece, ...]
    names: Names = field(repr=False, compare=False)
    define: Symbol | None = None  # "=: δ" at the end of the line
    note: str = ""  # e.g. the shape of a definition
    label: str = ""  # a name the line is known by: Nielsen's "BP1" … "BP4"

    def __post_init__(self) -> None:
        if self.rule not in VOCABULARY:
            raise DerivativeError(f"rule {self.rule!r} is not in the vocabulary")
        object.__setattr__(self, "names", self.names.snapshot())

    def formula(self) -> str:
        """The step's equation in text, without its note."""
        body = " = ".join(p.text(self.names) for p in self.pieces)
        if self.define is not None:
            body += f" =: {self.define.text}"
        return body

    def text(self) -> str:
        return self.formula() + (f"   ({self.note})" if self.note else "")

    def latex(self) -> str:
        """One align* row: first piece, then & = the rest, the rule as annotation."""
        shown = [p.latex(self.names) for p in self.pieces]
        line = shown[0] + " &= " + " = ".join(shown[1:]) if len(shown) > 1 else "& " + shown[0]
        if self.define is not None:
            line += rf" =: {self.define.latex}"
        note = f", {self.note}" if self.note else ""
        annotation = latex_text(self.rule + note)
        return line + rf" && \parbox[t]{{6.5cm}}{{\raggedright\small {annotation}}}"

    def markdown(self) -> str:
        shown = " = ".join(p.latex(self.names) for p in self.pieces)
        if self.define is not None:
            shown += rf" =: {self.define.latex}"
        return f"**{self.rule}**: ${shown}$" + (f" {self.note}" if self.note else "")

    def __str__(self) -> str:
        return self.text()


@dataclass
class Derivation:
    """A derivation: the steps, the result, and every way to read them."""

    title: str
    function: E.Expr
    variable: E.Variable
    layout: str
    steps: list[Step]
    result: E.Expr | tuple[E.Expr, ...]
    names: Names = field(repr=False)
    # Each name used in the steps (z, a, δ's node, the variables, f) and what it stands for.
    nodes: dict[str, E.Expr] = field(default_factory=dict, repr=False)
    symbols: dict[str, Symbol] = field(default_factory=dict, repr=False)

    def text(self) -> str:
        width = max(len(step.rule) for step in self.steps)
        lines = [self.title]
        lines += [f"  {step.rule:<{width}}  {step.text()}" for step in self.steps]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def latex(self) -> str:
        """The body of an align* environment, one step per row."""
        return " \\\\\n".join(step.latex() for step in self.steps)

    def _repr_latex_(self) -> str:
        return "\\begin{align*}\n" + self.latex() + "\n\\end{align*}"

    def markdown(self) -> str:
        lines = [f"**{self.title}**", ""]
        lines += [f"{i}. {step.markdown()}" for i, step in enumerate(self.steps, 1)]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def title_latex(self) -> str:
        return ", ".join(
            Partial(self.nodes_symbol(self.function), self.nodes_symbol(v)).latex(self.names)
            for v in self.variables()
        )

    def variables(self) -> list[E.Variable]:
        """The variables differentiated by, in the order they were asked for."""
        return [E.variables(self.function)[name] for name in self.title_names()] or [self.variable]

    def title_names(self) -> list[str]:
        return [part.split("/∂", 1)[1] for part in self.title.split(", ") if "/∂" in part]

    def nodes_symbol(self, node: E.Expr) -> Symbol:
        for text, candidate in self.nodes.items():
            if candidate is node:
                return self.symbols[text]
        return Symbol(str(node), P.latex(node))

    def section(self) -> str:
        """This derivation as a section of a LaTeX document."""
        results = self.result if isinstance(self.result, tuple) else (self.result,)
        shown = ", \\quad ".join(P.latex(r) for r in results)
        return "\n".join(
            [
                rf"\section*{{${self.title_latex()}$}}",
                r"The function:",
                rf"\[ {P.latex(self.function)} \]",
                rf"Steps ({self.layout} layout):",
                r"\begin{align*}",
                self.latex(),
                r"\end{align*}",
                r"The result:",
                rf"\[ {shown} \]",
            ]
        )

    def document(self, title: str = "A derivation by matcalc") -> str:
        """A standalone LaTeX document: title, the function, the steps, the result."""
        return document.latex_document([self], title)

    def write_tex(self, path: str | Path) -> Path:
        return document.write_tex([self], path, "A derivation by matcalc")

    def write_pdf(self, path: str | Path, force: bool = False) -> Path:
        """Compile with pdflatex; without pdflatex, write the .tex and say so.  A .tex
        beside the PDF that holds something else is overwritten only with force."""
        return document.write_document([self], path, "A derivation by matcalc", force)
