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
from .notation import (
    ATOM,
    SUM,
    Notation,
    Printed,
    latex_name,
    latex_prose,
    latex_words,
    markdown_prose,
    notation_used,
)

# The fixed vocabulary of rule names a step may carry.
VOCABULARY = (
    "layout", "definition", "chain rule", "elementwise binary operation", "Hadamard product",
    "scalar expansion", "sum", "elementwise function", "matrix product", "transpose",
    "broadcast", "trace", "determinant", "inverse", "diagonal", "norm", "softmax",
    "log-sum-exp", "simplification", "stable form", "cancellation", "result",
    "differential", "cyclic trace", "identification",
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
        # from the Unicode words: formulas in them typeset (∂y/∂x, not "dy/dx")
        return latex_words(self.text_form)


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

    def annotation(self) -> str:
        """The rule in the lecture's words, with its note: "definition (30×B)"."""
        return f"{self.rule} ({self.note})" if self.note else self.rule

    def sides(self) -> tuple[str, str]:
        """The LaTeX of the step's two sides: the first piece, and "= the rest" (with
        "=: δ"); a step of one piece has it on the right."""
        shown = [p.latex(self.names) for p in self.pieces]
        define = rf" =: {self.define.latex}" if self.define is not None else ""
        if len(shown) == 1:
            return "", shown[0] + define
        return shown[0], "= " + " = ".join(shown[1:]) + define

    def latex(self, names: dict[str, str] | None = None) -> str:
        """One align* row: the first piece, & = the rest, && the rule as words and
        math (no \\parbox: KaTeX and MathJax have none), the label as \\tag{BP1}.
        names: the derivation's names in the annotation (b1 → \\mathbf{b}_{1})."""
        left, right = self.sides()
        line = f"{left} &{right}" if left else f"& {right}"
        line += rf" && {latex_words(self.annotation(), names)}"
        return line + (rf" \tag{{{self.label}}}" if self.label else "")

    def markdown(self, names: dict[str, str] | None = None) -> str:
        """One row of the Markdown form's aligned block: MathJax allows no \\tag inside
        aligned, so the label is written (BP1) after the rule."""
        left, right = self.sides()
        line = f"{left} &{right}" if left else f"& {right}"
        line += rf" && {latex_words(self.annotation(), names)}"
        return line + (rf" \quad \text{{({self.label})}}" if self.label else "")

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

    def __repr__(self) -> str:
        """The steps as text: what a notebook shows as plain text, not a dataclass dump."""
        return self.text()

    def latex(self) -> str:
        """The body of an align* environment, one step per row."""
        names = self.latex_names()
        return " \\\\\n".join(step.latex(names) for step in self.steps)

    def _repr_latex_(self) -> str:
        return "\\begin{align*}\n" + self.latex() + "\n\\end{align*}"

    def markdown(self) -> str:
        """Jupyter's and VS Code's form: the title, the steps in display math (an
        aligned block, the rule beside each step; words between blocks as paragraphs),
        and the symbols used."""
        names = self.latex_names()
        lines = [f"**{self.title}**", ""]
        rows: list[str] = []
        for step in self.steps:
            if _is_words(step):
                if rows:
                    lines += [_aligned(rows), ""]
                    rows = []
                lines += [markdown_prose(step.pieces[0].text(step.names)), ""]
            else:
                rows.append(step.markdown(names))
        if rows:
            lines += [_aligned(rows), ""]
        if self.notation():
            lines += ["Notation:", "", self.legend("markdown")]
        return "\n".join(lines).rstrip("\n")

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def latex_names(self) -> dict[str, str]:
        """Each name the steps use, as the terminal writes it, to its LaTeX: the
        intermediates, the variables, the errors δ (for formulas in the annotations)."""
        found = {
            name: latex_name(name, variable.kind)
            for name, variable in E.variables(self.function).items()
        }
        found.update({text: symbol.latex for text, symbol in self.symbols.items()})
        for step in self.steps:
            if step.define is not None:
                found[step.define.text] = step.define.latex
        return found

    def notation(self) -> list[Notation]:
        """The symbols of the notation table (notation.NOTATION) the derivation uses."""
        shown = [P.latex(self.function), *(P.latex(r) for r in self._results())]
        shown += [step.latex() for step in self.steps]
        sizes = {
            str(symbol)
            for variable in E.variables(self.function).values()
            for dim in variable.shape
            for symbol in getattr(dim, "free_symbols", ())
        }
        return notation_used("\n".join(shown), sizes)

    def layout_words(self) -> str:
        """The layout, in words: the first layout step's, else its name."""
        for step in self.steps:
            if step.rule == "layout" and _is_words(step):
                return step.pieces[0].text(step.names)
        return f"{self.layout} layout"

    def legend(self, form: str = "text") -> str:
        """The symbols the derivation uses and what they mean, from the one notation
        table: form "text" for a terminal, "markdown" for Jupyter, "latex" for a
        document (a description list)."""
        used = self.notation()
        if form == "text":
            width = max((len(e.text) for e in used), default=0)
            lines = [f"  {e.text:<{width}}  {e.words}" for e in used]
            return "\n".join([f"layout: {self.layout_words()}", *lines])
        if form == "markdown":
            return "\n".join(f"- ${e.latex}$: {markdown_prose(e.words)}" for e in used)
        if form == "latex":  # the layout's words are generic: y, x are no variables
            items = [rf"\item[layout] {latex_prose(self.layout_words())}"]
            items += [rf"\item[${e.latex}$] {latex_prose(e.words)}" for e in used]
            return "\n".join([r"\begin{description}", *items, r"\end{description}"])
        raise DerivativeError(f"form must be text, markdown or latex, not {form!r}")

    def _results(self) -> tuple[E.Expr, ...]:
        return self.result if isinstance(self.result, tuple) else (self.result,)

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
        """This derivation as a section of a LaTeX document: the function, the
        symbols it uses, the steps with their rules as right-hand annotations and
        Nielsen's labels as tags, and the result; every long formula broken to fit
        the page (document.aligned_rows)."""
        names = self.latex_names()
        function = self.function_symbol()
        rows: list[document.Row] = []
        for index, step in enumerate(self.steps):
            if _is_words(step):
                if index or step.rule != "layout":  # the first is the legend's layout
                    rows.append(("", "", latex_prose(step.pieces[0].text(step.names)), ""))
                continue
            left, right = step.sides()
            rows.append((left, right, latex_prose(step.annotation(), names), step.label))
        titles = [
            Partial(function, self.nodes_symbol(v)).latex(self.names) for v in self.variables()
        ]
        results = [
            (title, "= " + P.latex(r), "", "")
            for title, r in zip(titles, self._results(), strict=False)
        ]
        return "\n".join(
            [
                # ragged: a title of many partials breaks after its commas
                rf"\section*{{\raggedright {latex_prose(self.title, names)}}}",
                r"\paragraph{The function.}",
                document.aligned_rows([(function.latex, "= " + P.latex(self.function), "", "")]),
                r"\paragraph{Notation.}",
                self.legend("latex"),
                rf"\paragraph{{The steps}} in {latex_prose(self.layout)} layout, with their rules.",
                document.aligned_rows(rows),
                r"\paragraph{The result.}",
                document.aligned_rows(results),
            ]
        )

    def function_symbol(self) -> Symbol:
        """The function's name: C, f, F (f when the derivation has none)."""
        for text, candidate in self.nodes.items():
            if candidate is self.function:
                return self.symbols[text]
        return Symbol("f", "f")

    def document(self, title: str = "A derivation by matcalc", paper: str = "a4") -> str:
        """A standalone LaTeX document: a portrait page of A4 or Letter (paper) with
        the function, the notation, the steps and the result."""
        return document.latex_document([self], title, paper)

    def write_tex(self, path: str | Path, paper: str = "a4") -> Path:
        return document.write_tex([self], path, "A derivation by matcalc", paper)

    def write_pdf(self, path: str | Path, force: bool = False, paper: str = "a4") -> Path:
        """Compile with pdflatex; without pdflatex, write the .tex and say so.  A .tex
        beside the PDF that holds something else is overwritten only with force.
        paper: "a4" or "letter", portrait."""
        return document.write_document([self], path, "A derivation by matcalc", force, paper)


def _is_words(step: Step) -> bool:
    """A step that is a sentence (the layout), not an equation."""
    return len(step.pieces) == 1 and isinstance(step.pieces[0], Words) and step.define is None


def _aligned(rows: list[str]) -> str:
    """Rows as one display-math block of Markdown."""
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"
