"""Step-by-step derivations: what the chain rule did, in the lecture's words.

``derive(f, X)`` names the intermediates (z = W x + b, a = σ(z), r = a − y),
gives each local Jacobian with its rule, combines them by the chain rule,
shows each structural collapse as its own step ((a − y)ᵀ diag(σ′(z)) =
((a − y) ⊙ σ′(z))ᵀ =: δᵀ), and ends with the result in the variable's
layout.  The engine computes; this module only watches and names.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import expr as E
from . import latex_printer as LP
from . import simplifier as s
from . import text_printer as TP
from .dims import DerivativeError, format_shape, vector_length
from .engine import _check_variable, _dependents, forward_jacobian, reverse_sweep
from .printing import ATOM, Printed
from .rules import RULES

# The fixed vocabulary of rule names a step may carry.
VOCABULARY = (
    "layout", "definition", "chain rule", "elementwise binary operation", "Hadamard product",
    "scalar expansion", "sum", "elementwise function", "matrix product", "transpose",
    "broadcast", "trace", "determinant", "inverse", "diagonal", "norm", "softmax",
    "log-sum-exp", "simplification", "result",
)  # fmt: skip

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Symbol:
    """A name as printed in text and in LaTeX."""

    text: str
    latex: str


@dataclass(frozen=True)
class Names:
    """The derivation's names for subexpressions, by id, for both printers."""

    text: dict[int, Printed] = field(default_factory=dict)
    latex: dict[int, Printed] = field(default_factory=dict)
    keep: list[E.Expr] = field(default_factory=list)

    def add(self, node: E.Expr, symbol: Symbol) -> None:
        self.text[id(node)] = Printed(symbol.text, ATOM)
        self.latex[id(node)] = Printed(symbol.latex, ATOM)
        self.keep.append(node)  # ids stay valid while the derivation lives

    def snapshot(self) -> Names:
        """The names as they are now (a step prints with the names known at its time)."""
        return Names(dict(self.text), dict(self.latex), list(self.keep))


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
        return TP.text(self.expr, names.text, self.top)

    def latex(self, names: Names) -> str:
        return LP.latex(self.expr, names.latex, self.top)


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
        return " ".join(_grouped(f, f.text(names)) for f in self.factors)

    def latex(self, names: Names) -> str:
        return " ".join(_grouped(f, f.latex(names), latex=True) for f in self.factors)


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


def _grouped(piece: Piece, shown: str, latex: bool = False) -> str:
    """A factor of a product in parentheses when it is a sum or starts with a minus."""
    needs = isinstance(piece, Total) or (
        isinstance(piece, Formula)
        and (" + " in shown or " − " in shown or " - " in shown or shown[:1] in "−-")
    )
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

    def __post_init__(self) -> None:
        if self.rule not in VOCABULARY:
            raise ValueError(f"rule {self.rule!r} is not in the vocabulary")
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
        annotation = _latex_text(self.rule + note)
        return line + rf" && \parbox[t]{{6.5cm}}{{\raggedright\small {annotation}}}"

    def markdown(self) -> str:
        shown = " = ".join(p.latex(self.names) for p in self.pieces)
        if self.define is not None:
            shown += rf" =: {self.define.latex}"
        return f"**{self.rule}**: ${shown}$" + (f" {self.note}" if self.note else "")

    def __str__(self) -> str:
        return self.text()


_TEXT_MATH = {
    "×": r"$\times$", "∂": r"$\partial$", "δ": r"$\delta$", "σ": r"$\sigma$", "′": "'",
    "ᵀ": r"$^\top$", "⊙": r"$\odot$", "−": "-", "𝟏": r"$\mathbf{1}$", "∇": r"$\nabla$",
}  # fmt: skip


def _latex_text(words: str) -> str:
    """Plain words for LaTeX text mode: escapes, and the few math symbols we use."""
    out = []
    for char in words.replace("\\", "/"):
        if char in _TEXT_MATH:
            out.append(_TEXT_MATH[char])
        elif char in "_&%#$":
            out.append("\\" + char)
        elif ord(char) < 128:
            out.append(char)
        else:
            out.append("?")  # pdflatex's default fonts have no glyph for it
    return "".join(out)


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
        return Symbol(str(node), LP.latex(node))

    def section(self) -> str:
        """This derivation as a section of a LaTeX document."""
        results = self.result if isinstance(self.result, tuple) else (self.result,)
        shown = ", \\quad ".join(LP.latex(r) for r in results)
        return "\n".join(
            [
                rf"\section*{{${self.title_latex()}$}}",
                r"The function:",
                rf"\[ {LP.latex(self.function)} \]",
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
        return latex_document([self], title)

    def write_tex(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.document(), encoding="utf-8")
        return target

    def write_pdf(self, path: str | Path) -> Path:
        """Compile with pdflatex; without pdflatex, write the .tex and say so."""
        target = Path(path)
        tex = self.write_tex(target.with_suffix(".tex"))
        compile_latex(tex)
        return target.with_suffix(".pdf")


def latex_document(derivations: Sequence[Derivation], title: str) -> str:
    """One LaTeX document holding several derivations, one section each."""
    return "\n".join(
        [
            r"\documentclass[11pt]{article}",
            r"\usepackage[a4paper,margin=1.5cm,landscape]{geometry}",
            r"\usepackage{amsmath,amssymb}",
            r"\allowdisplaybreaks",
            r"\setlength{\jot}{7pt}",
            rf"\title{{{_latex_text(title)}}}",
            r"\date{}",
            r"\begin{document}",
            r"\maketitle",
            *[d.section() for d in derivations],
            r"\end{document}",
            "",
        ]
    )


def write_document(derivations: Sequence[Derivation], path: str | Path, title: str) -> Path:
    """Write a .tex document of the derivations and compile it to PDF."""
    tex = Path(path).with_suffix(".tex")
    tex.parent.mkdir(parents=True, exist_ok=True)
    tex.write_text(latex_document(derivations, title), encoding="utf-8")
    return compile_latex(tex)


class LatexError(RuntimeError):
    """pdflatex is missing, or reported an error."""


def compile_latex(tex: Path) -> Path:
    """pdflatex in batch mode; any error or undefined control sequence raises."""
    program = shutil.which("pdflatex")
    if program is None:
        raise LatexError(
            f"pdflatex is not installed, so no PDF was made; the LaTeX source is in {tex} "
            "(install texlive-latex-base and texlive-latex-recommended, or compile it elsewhere)"
        )
    with tempfile.TemporaryDirectory() as work:
        run = subprocess.run(
            [
                program,
                "-interaction=batchmode",
                "-halt-on-error",
                f"-output-directory={work}",
                str(tex),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = Path(work, tex.with_suffix(".log").name)
        log_text = log.read_text(errors="replace") if log.exists() else run.stdout
        problems = [line for line in log_text.splitlines() if line.startswith("!")]
        if "Undefined control sequence" in log_text:
            problems.append("Undefined control sequence")
        pdf = Path(work, tex.with_suffix(".pdf").name)
        if run.returncode != 0 or problems or not pdf.exists():
            raise LatexError(f"pdflatex failed on {tex}: {'; '.join(problems) or run.returncode}")
        target = tex.with_suffix(".pdf")
        shutil.copyfile(pdf, target)
    return target


# -- naming the intermediates ---------------------------------------------------------------
LETTERS = {"activation": "a", "preactivation": "z", "residual": "r", "shared": "u"}


def _parents(order: list[E.Expr]) -> dict[int, list[E.Expr]]:
    parents: dict[int, list[E.Expr]] = {}
    for node in order:
        for child in node.args:
            parents.setdefault(id(child), [])
            if not any(p is node for p in parents[id(child)]):
                parents[id(child)].append(node)
    return parents


def _role(node: E.Expr, parents: dict[int, list[E.Expr]], roles: dict[int, str]) -> str | None:
    if isinstance(node, E.Apply | E.Softmax | E.Maximum):
        return "activation"
    ups = parents.get(id(node), [])
    if any(isinstance(p, E.Apply | E.Softmax | E.LogSumExp | E.Maximum) for p in ups):
        return "preactivation"
    if isinstance(node, E.Sub | E.Add) and any(isinstance(p, E.Pow | E.Norm) for p in ups):
        return "residual"
    if len(ups) > 1 and not isinstance(node, E.Transpose):
        return "shared"
    return None


def _symbol(letter: str, index: int | None, node: E.Expr) -> Symbol:
    kind = LP.kind_of(node)
    latex_base = LP.latex_name(letter, kind)
    if index is None:
        return Symbol(letter, latex_base)
    return Symbol(f"{letter}{index}", f"{latex_base}_{{{index}}}")


def _delta_symbol(z_symbol: Symbol, node: E.Expr) -> Symbol:
    index = z_symbol.text[1:]
    latex = LP.latex_name("delta", LP.kind_of(node))
    return Symbol("δ" + index, latex + (f"_{{{index}}}" if index else ""))


def choose_names(
    f: E.Expr, order: list[E.Expr], needed: set[int], root: Symbol
) -> tuple[Names, dict[int, Symbol], list[E.Expr]]:
    """Name the intermediates on the paths to the variable, lecture style."""
    parents = _parents(order)
    roles: dict[int, str] = {}
    named: list[E.Expr] = []
    for node in order:
        if node is f or id(node) not in needed or not node.args:
            continue
        role = _role(node, parents, roles)
        if role is not None:
            roles[id(node)] = role
            named.append(node)
    counts: dict[str, int] = {}
    for node in named:
        counts[roles[id(node)]] = counts.get(roles[id(node)], 0) + 1
    seen: dict[str, int] = {}
    names = Names()
    symbols: dict[int, Symbol] = {}
    layered = counts.get("preactivation", 0) > 1 or counts.get("activation", 0) > 1
    layer_of: dict[int, int] = {}  # a layer's activation takes its preactivation's index
    for node in named:
        role = roles[id(node)]
        seen[role] = seen.get(role, 0) + 1
        index = seen[role] if counts[role] > 1 else None
        if role == "activation" and layered and node.args and id(node.args[0]) in layer_of:
            index = layer_of[id(node.args[0])]
        elif role in ("activation", "preactivation") and layered:
            index = seen[role]
        if role == "preactivation" and index is not None:
            layer_of[id(node)] = index
        symbols[id(node)] = _symbol(LETTERS[role], index, node)
        names.add(node, symbols[id(node)])
    symbols[id(f)] = root
    names.add(f, root)
    return names, symbols, named


# -- the derivation of a gradient ---------------------------------------------------------------
def _variable_symbol(x: E.Variable) -> Symbol:
    return Symbol(x.name, LP.latex_name(x.name, x.kind))


def _row(adjoint: E.Expr, names: Names) -> E.Expr:
    """∂f/∂N in numerator layout: the gradient as a row (δᵀ for a named δ)."""
    if adjoint.is_scalar:
        return adjoint
    return E.Transpose.make(adjoint) if id(adjoint) in names.text else s.transpose(adjoint)


def _nearest_named(start: list[E.Expr], step, symbols: dict[int, Symbol]) -> list[E.Expr]:
    """The named nodes first reached from start, moving by step, passing unnamed ones."""
    found: list[E.Expr] = []
    stack = list(start)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in symbols:
            found.append(node)
        else:
            stack.extend(step(node))
    return found


def _nearest_named_parents(
    node: E.Expr, parents: dict[int, list[E.Expr]], symbols: dict[int, Symbol]
) -> list[E.Expr]:
    return _nearest_named(parents.get(id(node), []), lambda n: parents.get(id(n), []), symbols)


def _rule_of(rules: list[str]) -> tuple[str, str]:
    """The rule of the operation applied to the node itself (the first one used,
    counting from the node upward), and a note naming the others on the path."""
    if not rules:
        return "elementwise binary operation", ""
    # A transpose only reorients a vector: the operation after it says more.
    main = next((r for r in rules if r != "transpose"), rules[0])
    others = [r for r in dict.fromkeys(rules) if r != main]
    return main, ("with " + ", ".join(others)) if others else ""


def derive(
    f: object,
    x: E.Variable | Sequence[E.Variable],
    layout: str = "numerator",
    name: str = "f",
) -> Derivation:
    """The derivation of grad(f, x) (scalar f) or jacobian(f, x) (vector f), step by step.

    A list of variables derives all their gradients in one reverse sweep, so
    each δ is derived once and reused (Nielsen's BP1–BP4 for a network).
    name is the function's name in the steps ("C" for a cost).

    layout="numerator" (the default): ∂y/∂x has one row per entry of y and a
    gradient is shaped like its variable.  layout="denominator": ∂y/∂x has one
    row per entry of x, so local Jacobians appear transposed.
    """
    if layout not in ("numerator", "denominator"):
        raise DerivativeError(
            f"derive: layout must be 'numerator' or 'denominator', got {layout!r}"
        )
    f = E.as_expr(f, "derive")
    if isinstance(x, list | tuple):
        xs = [_check_variable("derive", v) for v in x]
        if not f.is_scalar:
            raise DerivativeError("derive: several variables need a scalar f (a gradient)")
        return _derive_gradient(s.simplify(f), xs, layout, name)
    x = _check_variable("derive", x)
    if f.is_scalar:
        return _derive_gradient(s.simplify(f), [x], layout, name)
    if vector_length(f.shape) is None or vector_length(x.shape) is None:
        raise DerivativeError(
            f"derive: f must be a scalar, or f and x vectors, but f is {format_shape(f.shape)} "
            f"and {x.name} is {format_shape(x.shape)}"
        )
    return _derive_jacobian(s.simplify(f), x, layout, name)


def _layout_step(layout: str, names: Names, gradient: bool) -> Step:
    if layout == "numerator":
        words = "numerator layout: ∂y/∂x has one row per entry of y"
    else:
        words = "denominator layout: ∂y/∂x has one row per entry of x (numerator layout transposed)"
    if gradient:
        words += "; the gradient ∂f/∂X is shaped like X"
    return Step("layout", (Words(words, words.replace("∂", "d")),), names)


def _definitions(named, f, symbols, names) -> list[Step]:
    steps = []
    for node in [*named, f]:
        steps.append(
            Step(
                "definition",
                (Name(symbols[id(node)]), Formula(node, top=True)),
                names,
                note=format_shape(node.shape).replace(", ", "×")[1:-1],
            )
        )
    return steps


def _derive_gradient(f: E.Expr, xs: list[E.Variable], layout: str, name: str) -> Derivation:
    order = E.postorder(f)
    needed = _dependents(order, xs)
    root = Symbol(name, LP.latex_name(name, "scalar"))
    names, symbols, named = choose_names(f, order, needed, root)
    title = ", ".join(f"∂{name}/∂{x.name}" for x in xs)
    steps = [_layout_step(layout, names, True), *_definitions(named, f, symbols, names)]
    adjoint = reverse_sweep(f, xs)
    for x in xs:
        symbols[id(x)] = _variable_symbol(x)
    parents = _parents(order)
    frozen = frozenset(symbols)
    for node in reversed(named):  # from f down: each δ is found once and reused
        steps += _gradient_steps(node, adjoint, parents, symbols, names, frozen, layout, root)
    results = []
    for x in xs:
        x_symbol = symbols[id(x)]
        if id(x) not in needed:
            result = s.zero(x.shape)
        else:
            steps += _gradient_steps(x, adjoint, parents, symbols, names, frozen, layout, root)
            result = adjoint[id(x)]
        results.append(result)
        shape_note = f"shaped like {x.name}, {format_shape(x.shape).replace(', ', '×')[1:-1]}"
        final = Step("result", (Partial(root, x_symbol), Formula(result)), names, note=shape_note)
        if steps[-1].formula() == final.formula():  # it already gave the gradient: say so
            last = steps.pop()
            note = "; ".join(filter(None, [last.note, f"the result, {shape_note}"]))
            final = Step(last.rule, last.pieces, last.names, note=note)
        steps.append(final)
        if len(xs) == 1 and TP.text(result) != TP.text(result, names.text):
            expanded = (Partial(root, x_symbol), Formula(result, top=True))
            steps.append(Step("result", expanded, Names()))
    result = results[0] if len(xs) == 1 else tuple(results)
    nodes = {symbols[key].text: node for node in order if (key := id(node)) in symbols}
    by_text = {symbol.text: symbol for symbol in symbols.values()}
    return Derivation(title, f, xs[0], layout, steps, result, names, nodes, by_text)


def _gradient_steps(node, adjoint, parents, symbols, names, frozen, layout, root) -> list[Step]:
    g = adjoint[id(node)]
    ups = _nearest_named_parents(node, parents, symbols)
    steps = _chain_steps(node, g, ups, adjoint, symbols, names, frozen, layout, root)
    me = symbols[id(node)]
    if _is_preactivation(me) and id(g) not in names.text:
        names.add(g, _delta_symbol(me, node))
    return steps


def _chain_steps(node, g, ups, adjoint, symbols, names, frozen, layout, root) -> list[Step]:
    """The steps that give ∂f/∂node from its nearest named parents."""
    me = symbols[id(node)]
    vectorial = vector_length(node.shape) is not None and all(
        vector_length(p.shape) is not None for p in ups
    )
    if vectorial:
        try:
            return _jacobian_chain(node, g, ups, adjoint, symbols, names, frozen, layout, root)
        except DerivativeError:  # a matrix between them after all
            pass
    # A matrix on the path: its Jacobian is a tensor, so give the gradient directly.
    rules: list[str] = []
    for up in ups:
        rules += _rules_between(up, node, frozen)
    rule, note = _rule_of(rules)
    delta = _delta_symbol(me, node) if _is_preactivation(me) else None
    pieces = (Partial(root, me), Formula(g, top=True))
    return [Step(rule, pieces, names, define=delta, note=note)]


def _is_preactivation(symbol: Symbol) -> bool:
    return symbol.text.startswith("z")


def _rules_between(up: E.Expr, node: E.Expr, frozen: frozenset[int]) -> list[str]:
    """The rules applied on the paths from up down to node."""
    order = E.postorder(up)
    needed = _dependents(order, [node], frozen - {id(up), id(node)})
    rules: list[str] = []
    for item in order:
        if id(item) not in needed or item is node:
            continue
        for index, child in enumerate(item.args):
            if id(child) in needed:
                local = RULES[type(item)](item, index)
                if local is not None:
                    rules.append(local.rule)
    return rules


def _jacobian_chain(node, g, ups, adjoint, symbols, names, frozen, layout, root) -> list[Step]:
    """Local Jacobians, their product by the chain rule, then the collapsed row."""
    me = symbols[id(node)]
    steps: list[Step] = []
    factors: list[Piece] = []
    products: list[Piece] = []
    for up in ups:
        rules: list[str] = []
        rows, cols = vector_length(up.shape), vector_length(node.shape)
        local = forward_jacobian(up, node, rows, cols, frozen - {id(up), id(node)}, rules)
        up_symbol = symbols[id(up)]
        shown = local if layout == "numerator" else s.transpose(local)
        rule, note = _rule_of(rules)
        steps.append(Step(rule, (Partial(up_symbol, me), Formula(shown)), names, note=note))
        if up_symbol == root:  # ∂f/∂f = 1: the local Jacobian is the whole term
            factors.append(Partial(up_symbol, me))
            products.append(Formula(shown))
            continue
        up_grad = adjoint[id(up)]
        if layout == "numerator":
            factors.append(Product((Partial(root, up_symbol), Partial(up_symbol, me))))
            products.append(Product((Formula(_row(up_grad, names)), Formula(local))))
        else:
            factors.append(Product((Partial(up_symbol, me), Partial(root, up_symbol))))
            products.append(Product((Formula(shown), Formula(up_grad))))
    collapsed = Formula(_row(g, names) if layout == "numerator" else g)
    delta = _delta_symbol(me, node) if _is_preactivation(me) else None
    if delta is not None and layout == "numerator" and not g.is_scalar:
        delta = Symbol(delta.text + "ᵀ", delta.latex + "^\\top")
    only_root = len(ups) == 1 and symbols[id(ups[0])] == root
    if not only_root:
        steps.append(
            Step(
                "chain rule",
                (Partial(root, me), Total(tuple(factors)), Total(tuple(products))),
                names,
            )
        )
    collapse = Step("simplification", (Partial(root, me), collapsed), names, define=delta)
    last = steps[-1].pieces[-1]
    if collapse.pieces[-1].text(names) != last.text(steps[-1].names) or delta is not None:
        steps.append(collapse)
    return steps


def _nearest_named_children(
    node: E.Expr, needed: set[int], symbols: dict[int, Symbol]
) -> list[E.Expr]:
    def down(n: E.Expr) -> list[E.Expr]:
        return [c for c in n.args if id(c) in needed]

    return _nearest_named(down(node), down, symbols)


def _derive_jacobian(f: E.Expr, x: E.Variable, layout: str, name: str) -> Derivation:
    """Forward accumulation: ∂N/∂x = Σ ∂N/∂c ∂c/∂x over the named children c of N."""
    from .engine import jacobian

    order = E.postorder(f)
    needed = _dependents(order, [x])
    root = Symbol(name, LP.latex_name(name, LP.kind_of(f)))
    names, symbols, named = choose_names(f, order, needed, root)
    x_symbol = _variable_symbol(x)
    symbols[id(x)] = x_symbol
    steps = [_layout_step(layout, names, False), *_definitions(named, f, symbols, names)]
    frozen = frozenset(symbols)
    cols = vector_length(x.shape)
    numerator = layout == "numerator"
    for node in [*named, f]:
        if id(node) not in needed:
            continue
        me = symbols[id(node)]
        rows = vector_length(node.shape)
        factors: list[Piece] = []
        products: list[Piece] = []
        for down in _nearest_named_children(node, needed, symbols):
            rules: list[str] = []
            local = forward_jacobian(
                node, down, rows, vector_length(down.shape), frozen - {id(node), id(down)}, rules
            )
            shown = local if numerator else s.transpose(local)
            rule, note = _rule_of(rules)
            down_symbol = symbols[id(down)]
            steps.append(Step(rule, (Partial(me, down_symbol), Formula(shown)), names, note=note))
            if down is x:
                factors.append(Partial(me, down_symbol))
                products.append(Formula(shown))
                continue
            down_jacobian = forward_jacobian(down, x, vector_length(down.shape), cols)
            pair = (Partial(me, down_symbol), Partial(down_symbol, x_symbol))
            values = (Formula(local), Formula(down_jacobian))
            if not numerator:
                pair = pair[::-1]
                values = (Formula(s.transpose(down_jacobian)), Formula(shown))
            factors.append(Product(pair))
            products.append(Product(values))
        total = forward_jacobian(node, x, rows, cols)
        total_shown = total if numerator else s.transpose(total)
        if len(products) > 1 or not isinstance(products[0], Formula):
            chain = (Partial(me, x_symbol), Total(tuple(factors)), Total(tuple(products)))
            steps.append(Step("chain rule", chain, names))
            collapse = Step("simplification", (Partial(me, x_symbol), Formula(total_shown)), names)
            if collapse.pieces[-1].text(names) != steps[-1].pieces[-1].text(names):
                steps.append(collapse)
    result = jacobian(f, x)
    shown_result = result if numerator else s.transpose(result)
    shape = format_shape(shown_result.shape).replace(", ", "×")[1:-1]
    final = Step("result", (Partial(root, x_symbol), Formula(shown_result)), names, note=shape)
    steps.append(final)
    nodes = {symbols[key].text: node for node in order if (key := id(node)) in symbols}
    by_text = {symbol.text: symbol for symbol in symbols.values()}
    title = f"∂{name}/∂{x.name}"
    return Derivation(title, f, x, layout, steps, shown_result, names, nodes, by_text)
