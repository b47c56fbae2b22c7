"""Checking a whole proof, link by link: ``check_proof(steps, f, wrt, where=...)``.

A proof is a chain of equalities, each step an expression, typed in LaTeX
(the way the lecture writes it) or as text.  Each consecutive pair is a link,
judged by ``check.compare`` exactly as ``check`` judges a final answer: the
later step against the earlier one, after every intermediate (``z``, ``a``,
``δ``) is replaced by its definition.  The first step may be the derivative
being proven (``\\frac{\\partial C}{\\partial W}``, ``\\nabla_W C``, ``dC/dW``),
which stands for the true derivative; when ``f`` and ``wrt`` are given, the
first and the last step are also judged against it.  The first wrong link
names the step that breaks and what broke (the diagnoses of ``check``); a
correct link names, where one rewrite turns one step into the next, the
identity behind it (``identities``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import constructors as C
from . import document
from . import expr as E
from .check import Verdict, compare
from .dims import vector_length
from .engine import grad, jacobian
from .errors import DerivativeError, ParseError, ShapeError
from .identities import identity_between
from .latex_reader import LatexReader, read_latex_with_primes
from .notation import ATOM, Printed, latex_name, latex_prose, latex_words
from .parse import LATEX_ONLY, declarations, parse
from .printing import latex, text
from .proof_text import DERIVATIVE_FACTOR, Piece, chains, derivative_factors, derivative_notation


@dataclass(frozen=True, repr=False)
class Link(Verdict):
    """One link of a proof: is step ``target`` equal to step ``source`` (None: the
    true derivative)?  ``identity`` names the rewrite that justifies a correct link."""

    source: int | None = None
    target: int = 0
    identity: str = ""


@dataclass(frozen=True)
class ProofStep:
    """A step as written (intermediates by name), and what it means (all expanded)."""

    written: E.Expr
    meaning: E.Expr
    derivative: str = ""  # "∂C/∂W" when the step is the derivative being proven
    derivative_latex: str = ""
    primes: tuple[str, ...] = ()
    chain: int = 0
    source: str = ""  # the step as typed (never printed into TeX)


@dataclass(frozen=True)
class ProofVerdict:
    """ok, the steps, one verdict per link, the first wrong step and a sentence.

    Steps are numbered from 1 in messages and in the display; ``first_error`` is
    an index into ``steps`` (so step ``first_error + 1`` in the message).
    """

    ok: bool
    steps: tuple[ProofStep, ...]
    links: tuple[Link, ...]
    first_error: int | None
    message: str
    definitions: dict[str, E.Expr] = field(default_factory=dict, compare=False)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def _names(self, step: ProofStep, which: int) -> dict[int, Printed]:
        """A derivative standing in a step prints as itself: ∂C/∂a, \\frac{∂C}{∂a}."""
        used = E.variables(step.written)
        return {
            id(used[name]): Printed(shown[which], ATOM)
            for name, shown in self.labels.items()
            if name in used
        }

    def __repr__(self) -> str:
        """The verdict as text (what a notebook shows as plain text)."""
        return str(self)

    def __str__(self) -> str:
        lines = [self.message]
        for index, step in enumerate(self.steps):
            mark = self._mark(index)
            shown = step.derivative or text(step.written, self._names(step, 0))
            why = next((k.identity for k in self.links if k.target == index and k.identity), "")
            lines.append(f"  {index + 1}. {mark} {shown}" + (f"    [{why}]" if why else ""))
        for link in self.links:
            if not link.ok:
                lines.append(f"     {self._name(link)}: {link.message}")
        return "\n".join(lines)

    def _name(self, link: Link) -> str:
        source = "∂" if link.source is None else str(link.source + 1)
        return f"{source} → {link.target + 1}"

    def _mark(self, index: int) -> str:
        into = [link for link in self.links if link.target == index]
        return "✗" if any(not link.ok for link in into) else "✓"

    def _marked(self) -> list[tuple[str, str, str, str, str]]:
        """Each step as (number, relation, the step typeset, mark, words): ✓
        with the identity that justifies it or × with what broke.  Only printed
        expressions and escaped words reach the TeX, never the text as typed."""
        out = []
        for index, step in enumerate(self.steps):
            shown = step.derivative_latex or latex(step.written, self._names(step, 1))
            into = [link for link in self.links if link.target == index]
            wrong = [link for link in into if not link.ok]
            if wrong:
                mark, words = r"\times", wrong[0].message
            elif into:
                mark = r"\checkmark"
                words = next((link.identity for link in into if link.identity), "")
            else:
                mark, words = "", ""
            first = index == 0 or step.chain != self.steps[index - 1].chain
            out.append((rf"\text{{{index + 1}.}}", "" if first else "= ", shown, mark, words))
        return out

    def _rows(self) -> list[str]:
        """One aligned row per step, the mark and words in math mode with their
        formulas typeset (MathJax 3 shows a macro inside \\text{} literally)."""
        rows = []
        for number, relation, shown, mark, words in self._marked():
            note = mark + ("~" + latex_words(words) if words else "")
            rows.append(rf"{number}\quad &{relation}{shown} && {note}")
        return rows

    def _repr_latex_(self) -> str:
        """Jupyter's display: each step typeset and marked."""
        return "$$\\begin{aligned}" + r" \\ ".join(self._rows()) + r"\end{aligned}$$"

    def section(self) -> str:
        """The proof as a section of a LaTeX document (``document.write_document``):
        the verdict, then the steps with their marks as right-hand annotations, long
        steps broken to fit the page."""
        rows = [
            (
                number + r"\quad",
                relation + shown,
                f"${mark}$ " * bool(mark) + latex_prose(words),
                "",
            )
            for number, relation, shown, mark, words in self._marked()  # type: ignore[misc]
        ]
        return "\n".join(
            [r"\section*{Proof}", latex_prose(self.message), document.aligned_rows(rows), ""]
        )


# -- reading the proof ----------
@dataclass
class Reader:
    """What the proof knows so far: shapes of names, intermediates and their meanings."""

    shapes: dict[str, object]
    latex: bool
    source: str = ""
    f: E.Expr | None = None  # the function being differentiated, when given
    name: str = "f"
    definitions: dict[str, E.Expr] = field(default_factory=dict)  # as written
    variables: dict[str, E.Variable] = field(default_factory=dict)  # intermediates as names
    given_label: str = ""  # ∂f/∂x, when f and wrt are given
    # how a derivative standing in a step prints: its name → (text, LaTeX)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    def read(self, piece: Piece, hint: tuple | None = None) -> tuple[E.Expr, list[str]]:
        """The piece's expression; a 𝟏 or I whose size nothing in it fixes takes it from
        the neighbouring step's shape (hint), as it stands or transposed."""
        try:
            return self._read(piece, None)
        except ShapeError as error:  # a step whose shapes do not fit is wrong right there
            message = str(error).split(" — at position")[0]
            where = getattr(error, "position", 0)
            raise self._moved(
                ParseError(f"check_proof: this step does not fit together: {message}", "", where),
                piece,
            ) from None
        except ParseError as error:
            if hint is not None and "fixes the size" in error.message:
                for shape in (hint, hint[::-1]):
                    try:
                        return self._read(piece, shape)
                    except (ParseError, ShapeError):
                        pass
            raise self._moved(error, piece) from None

    def is_latex(self, piece: Piece) -> bool:
        """The whole proof's syntax; a list's steps each say their own."""
        return self.latex or piece.latex or LATEX_ONLY.search(piece.text) is not None

    def _read(self, piece: Piece, hint: tuple | None) -> tuple[E.Expr, list[str]]:
        source = piece.text
        if self.is_latex(piece) and DERIVATIVE_FACTOR.search(source):
            return self._read_with_derivatives(piece, hint)
        if self.is_latex(piece):
            expr, primes = read_latex_with_primes(source.strip(), self.shapes, hint)
        else:
            try:
                expr, primes = parse(source.strip(), self.shapes), []
            except ParseError as error:
                # (A + B)(A + B) is no text syntax's: read it as LaTeX if that can
                try:
                    expr, primes = read_latex_with_primes(source.strip(), self.shapes, hint)
                except ParseError:
                    raise error from None
        self.learn(expr)
        return expr, primes

    def _read_with_derivatives(self, piece: Piece, hint: tuple | None) -> tuple[E.Expr, list[str]]:
        """A step with derivatives among its factors (∂C/∂a ⊙ σ′(z), the chain rule
        ∂C/∂a ∂a/∂z): each is worked out as the first step's is, and stands in the step
        as a name.  ∂C/∂a of a scalar C is the gradient (a's shape); if the step's
        products fit only with it as a row (∂C/∂a ∂a/∂z, numerator layout), it is."""
        text, found = piece.text, list[tuple[str, Truth]]()
        for match in reversed(list(derivative_factors(text))):
            start, end, notation = match
            truth = _derivative(self, notation, Piece(text[start:end], piece.position + start))
            placeholder = rf"\mathit{{mcderivative{len(found)}}}"
            text = text[:start] + placeholder.ljust(end - start) + text[end:]
            found.append((f"mcderivative{len(found)}", truth))
        for row in (False, True):
            values = {
                key: t.value.T if row and t.function.is_scalar and t.value.is_vector else t.value
                for key, t in found
            }
            for key, value in values.items():
                self.shapes[key] = declarations(_variable_like(key, value))[key]
            try:
                expr, primes = read_latex_with_primes(text.strip(), self.shapes, hint)
                break
            except ShapeError:
                if row or not any(t.function.is_scalar for _, t in found):
                    raise
            finally:
                for key in values:
                    self.shapes.pop(key, None)
        for key, truth in found:
            value = values[key]
            row = value is not truth.value
            label = truth.label + ("ᵀ" if row else "")
            shown = (truth.latex + (r"^\top" if row else ""), label)
            name = next((n for n, s in self.labels.items() if s == (label, shown[0])), "")
            if not name:  # a name no one types: the display shows ∂C/∂a
                name = f"mc_derivative_{len(self.labels) + 1}"
                self.labels[name] = (label, shown[0])
                self.definitions[name], self.variables[name] = value, _variable_like(name, value)
            expr = E.substitute(expr, _variable_like(key, value), self.variables[name])
        return expr, primes

    def _moved(self, error: ParseError, piece: Piece) -> ParseError:
        """The error at its place in the whole proof."""
        if not self.source:
            return ParseError(error.message, piece.text, error.position)
        lead = len(piece.text) - len(piece.text.lstrip())
        return ParseError(error.message, self.source, piece.position + lead + error.position)

    def learn(self, expr: E.Expr) -> None:
        for name, shape in declarations(expr).items():
            self.shapes.setdefault(name, shape)

    def is_new_name(self, piece: Piece) -> str:
        """The name, when piece is a bare name nothing has defined yet."""
        if self.is_latex(piece):
            try:
                tree = LatexReader(piece.text.strip(), self.shapes).read()
            except ParseError:
                return ""
            node = tree.body
            name = getattr(node, "id", "") if type(node).__name__ == "Name" else ""
        else:
            name = piece.text.strip()
            name = name if name.isidentifier() else ""
        return name if name and name not in self.shapes and name not in self.definitions else ""

    def define(self, name: str, meaning: E.Expr) -> None:
        if name in E.variables(meaning):
            raise ParseError(f"check_proof: {name} is defined in terms of itself")
        variable = _variable_like(name, meaning)
        self.definitions[name] = meaning
        self.variables[name] = variable
        self.shapes[name] = declarations(variable)[name]

    def expand(self, expr: E.Expr, keep: str = "") -> E.Expr:
        """expr with every intermediate (but keep) replaced by its definition; later
        definitions first, as they are written in terms of earlier ones."""
        for name in reversed(list(self.definitions)):
            if name != keep and name in E.variables(expr):
                expr = E.substitute(expr, self.variables[name], self.definitions[name])
        return expr


def _variable_like(name: str, expr: E.Expr) -> E.Variable:
    if expr.is_scalar:
        return C.scalar(name)
    if expr.is_vector and expr.cols == 1:
        return C.vector(name, expr.rows)
    return C.matrix(name, expr.rows, expr.cols)


@dataclass(frozen=True)
class Truth:
    """The derivative being proven: its value, what it is called, and f (for the domain)."""

    value: E.Expr
    label: str
    latex: str
    function: E.Expr
    variable: str = ""
    row: bool = False  # ∂C/∂z written as a row (numerator layout), not the gradient

    def as_row(self) -> Truth:
        """The same derivative in numerator layout: ∂C/∂z is the row zᵀ's shape."""
        return Truth(
            self.value.T, self.label + " (as a row)", self.latex, self.function, self.variable, True
        )


def _derivative(reader: Reader, notation: tuple[str, str], piece: Piece) -> Truth:
    f, name = reader.f, reader.name
    top_source, bottom = notation
    latex_piece = reader.is_latex(piece)
    top = Piece(top_source, piece.position, latex_piece)
    wrt_piece = Piece(bottom, piece.position, latex_piece)
    if top_source.strip() and not _bare(reader, top):  # ∂(bᵀb)/∂b: the function says b's shape
        reader.read(top)
    if reader.is_new_name(wrt_piece):
        raise ParseError(
            f"check_proof: {piece.text.strip()}: {bottom.strip()} is not a variable of the proof "
            "(pass f, or declare its shape in shapes=)",
            reader.source, piece.position,
        )  # fmt: skip
    variable, _ = reader.read(wrt_piece)
    if not isinstance(variable, E.Variable):
        raise ParseError(
            "check_proof: the variable of a derivative must be a name", reader.source,
            piece.position,
        )  # fmt: skip
    function_name = reader.is_new_name(top) if top_source else ""
    known = _bare(reader, top) in reader.definitions
    if f is not None and (function_name or _bare(reader, top) == name) and not known:
        function, shown = f, function_name or name
    else:
        if not top_source.strip():
            raise ParseError("check_proof: the derivative of what?", reader.source, piece.position)
        if function_name:
            raise ParseError(
                f"check_proof: {function_name} is not defined: define it in the proof "
                f"({function_name} = …), pass it in where=, or pass f",
                reader.source,
                piece.position,
            )
        written, _ = reader.read(top)
        function = reader.expand(written, keep=variable.name)
        shown = _bare(reader, top) or text(written)
    function = reader.expand(function, keep=variable.name)
    if variable.name in reader.definitions and variable.name not in E.variables(function):
        # ∂C/∂z with C given over W, x, b: z's definition, where C has it, is z
        function = E.substitute(function, reader.expand(variable), variable)
        if variable.name not in E.variables(function):
            raise DerivativeError(
                f"check_proof: {shown} is not written in terms of {variable.name} "
                f"({variable.name} = {text(reader.expand(variable))} does not occur in it): "
                f"define {shown} in the proof in terms of {variable.name}"
            )
    if variable.name not in E.variables(function):
        value = C.zeros(*variable.shape) if function.is_scalar else None
        if value is None:
            raise DerivativeError(f"check_proof: {shown} does not depend on {variable.name}")
    elif function.is_scalar:
        value = grad(function, variable)
    elif vector_length(function.shape) is not None and vector_length(variable.shape) is not None:
        value = jacobian(function, variable)
    else:
        raise DerivativeError(
            f"check_proof: ∂{shown}/∂{variable.name} would be a 3-index tensor ({shown} is not "
            f"a scalar and {variable.name} not a vector): write that link of the chain rule "
            "through the error δ, as in ∂C/∂W = δ xᵀ"
        )
    label = f"∂{shown}/∂{variable.name}"
    top_latex = latex_name(shown) if shown.isidentifier() else latex(function)
    kind = "vector" if variable.is_vector and not variable.is_scalar else variable.kind
    shown_latex = rf"\frac{{\partial {top_latex}}}{{\partial {latex_name(variable.name, kind)}}}"
    return Truth(reader.expand(value), label, shown_latex, reader.expand(function), variable.name)


def _bare(reader: Reader, piece: Piece) -> str:
    """The name a piece spells, if it is one name (defined or not)."""
    source = piece.text
    if not source.strip():
        return ""
    if reader.is_latex(piece):
        try:
            node = LatexReader(source.strip(), reader.shapes).read().body
        except ParseError:
            return ""
        return str(getattr(node, "id", "")) if type(node).__name__ == "Name" else ""
    return source.strip() if source.strip().isidentifier() else ""


# -- checking ----------
def check_proof(
    steps: object,
    f: object = None,
    wrt: object = None,
    *,
    where: Mapping[str, object] | None = None,
    name: str = "f",
    shapes: Mapping[str, object] | None = None,
    seed: int = 0,
) -> ProofVerdict:
    """Is every step of a proof equal to the one before it? See the module's docstring.

    steps: a list of expressions (or texts), or the whole proof as one text or LaTeX.
    f, wrt: the function and variable being differentiated, when the proof is a
    derivative (or the first step says so, ∂C/∂W, with C defined in the proof).
    where: intermediates the proof uses, name → expression or text.
    shapes: declarations for names that f does not fix (text proofs without f).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ParseError(f"check_proof: name must be an identifier (C, f, loss), got {name!r}")
    if type(seed) is not int or not 0 <= seed < 2**32:
        raise ParseError(f"check_proof: seed must be an integer from 0 to 2**32 - 1, got {seed!r}")
    declared: dict[str, object] = dict(shapes or {})
    if isinstance(f, str):
        f = parse(f, declared)
    if f is not None:
        f = E.as_expr(f, "check_proof")
        declared.update(declarations(f))
    is_latex = isinstance(steps, str) and LATEX_ONLY.search(steps) is not None
    reader = Reader(declared, is_latex, steps if isinstance(steps, str) else "", f, name)
    for key, value in (where or {}).items():
        meaning = value if isinstance(value, E.Expr) else None
        if meaning is None:
            if not isinstance(value, str):
                raise ParseError(f"check_proof: where[{key!r}] must be an expression or text")
            syntax = "latex" if LATEX_ONLY.search(value) else "auto"
            meaning = parse(value, reader.shapes, syntax=syntax)
        reader.learn(meaning)
        reader.define(key, meaning)
    variable = _wrt(wrt, f)
    given_truth = _given_truth(reader, f, variable, name)
    reader.given_label = given_truth.label if given_truth else ""
    written_chains = _chains(steps, is_latex)
    proof_steps: list[ProofStep] = []
    links: list[Link] = []
    context = [given_truth.function] if given_truth else []
    proving = 0  # chains that derive ∂f/∂wrt (when f and wrt are given)
    for number, chain in enumerate(written_chains):
        chain_steps, statement = _read_chain(reader, chain, number)
        if not chain_steps:
            continue
        base = len(proof_steps)
        proof_steps.extend(step for step, _ in chain_steps)
        truth = chain_steps[0][1]
        local = [truth.function] if truth else context
        given = given_truth.as_row() if given_truth and truth and truth.row else given_truth
        # a chain proves ∂f/∂wrt unless it is a statement (z = …) or derives another
        # variable's derivative (δ = ∂C/∂z = …); one that derives ∂C/∂wrt must have C = f
        proves = given is not None and not statement
        if proves and truth is not None:
            proves = given is not None and truth.variable == given.variable
        if given is not None and proves:
            proving += 1
            if truth is None or truth.value is not given.value:  # ∂C/∂b with C = f: nothing to do
                links.append(_link(reader, given, proof_steps, None, base, local, seed))
        for index in range(base + 1, len(proof_steps)):
            links.append(_link(reader, None, proof_steps, index - 1, index, local, seed))
        last = len(proof_steps) - 1
        if given is not None and proves and last > base:
            links.append(_link(reader, given, proof_steps, None, last, local, seed))
    if not proof_steps:
        raise ParseError("check_proof: the proof has no chain of steps to check (only definitions)")
    if given_truth is not None and not proving:
        derived = ", ".join(s.derivative for s in proof_steps if s.derivative) or "no derivative"
        links.append(Link(
            False, f"the proof never derives {given_truth.label}: it derives {derived}",
            "shape", "wrong derivative", None, None, len(proof_steps) - 1,
        ))  # fmt: skip
    return _verdict(proof_steps, links, reader)


def _wrt(wrt: object, f: E.Expr | None) -> E.Variable | None:
    if wrt is None:
        return None
    if isinstance(wrt, E.Variable):
        return wrt
    if isinstance(wrt, str) and f is not None and wrt in E.variables(f):
        return E.variables(f)[wrt]
    raise ParseError(f"check_proof: wrt must be a variable of f, got {wrt!r}")


def _given_truth(reader: Reader, f: E.Expr | None, x: E.Variable | None, name: str) -> Truth | None:
    if f is None or x is None:
        return None
    if f.is_scalar:
        value = grad(f, x)
    elif vector_length(f.shape) is not None and vector_length(x.shape) is not None:
        value = jacobian(f, x)
    else:
        raise DerivativeError("check_proof: f must be a scalar, or f and wrt vectors")
    kind = "vector" if x.is_vector and not x.is_scalar else x.kind
    shown = rf"\frac{{\partial {latex_name(name)}}}{{\partial {latex_name(x.name, kind)}}}"
    return Truth(reader.expand(value), f"∂{name}/∂{x.name}", shown, reader.expand(f), x.name)


def _chains(steps: object, is_latex: bool) -> list[tuple[list[Piece | E.Expr], bool]]:
    """Each chain's pieces, and whether its first relation was a definition (:=)."""
    if isinstance(steps, str):
        return [(list(chain.pieces), chain.defines) for chain in chains(steps, is_latex)]
    if not isinstance(steps, Sequence) or not steps:
        raise ParseError("check_proof: steps must be a list of expressions, or the proof as text")
    return [([s if isinstance(s, E.Expr) else Piece(_as_text(s), 0) for s in steps], False)]


def _as_text(step: object) -> str:
    if not isinstance(step, str):
        raise ParseError(f"check_proof: a step must be an expression or text, got {step!r}")
    return step


def _read_chain(
    reader: Reader, chain: tuple[list, bool], number: int
) -> tuple[list[tuple[ProofStep, Truth | None]], bool]:
    """The chain's steps.  A chain that names something new (z = W x + b, z := …)
    defines it; one that names it and goes on (δ = ∂C/∂z = …) defines it and is
    checked; one that restates a definition (z = W x + b, z known) is checked
    against it and, when it agrees, is not a step."""
    pieces, defines = list(chain[0]), chain[1]
    label = restated = ""
    head = pieces[0]
    if isinstance(head, Piece) and len(pieces) >= 2:
        if derivative_notation(head.text, reader.is_latex(head)) is None:
            label = reader.is_new_name(head)
            restated = "" if label else _bare(reader, head)
            if restated and restated not in reader.definitions:
                if defines:
                    raise ParseError(
                        f"check_proof: {restated} is a variable; it cannot be defined",
                        reader.source, head.position,
                    )  # fmt: skip
                restated = ""
    if label:
        pieces = pieces[1:]
    if restated and len(pieces) == 2:
        meaning = reader.expand(reader.read(pieces[1])[0])
        if compare(meaning, reader.definitions[restated], restated, context=[]).ok:
            return [], True  # z = W x + b, said again: it holds, and is no step
    out: list[tuple[ProofStep, Truth | None]] = []
    hint: tuple | None = None
    for index, piece in enumerate(pieces):
        if isinstance(piece, E.Expr):
            reader.learn(piece)
            step = ProofStep(piece, reader.expand(piece), chain=number, source=str(piece))
            out.append((step, None))
            hint = piece.shape
            continue
        notation = derivative_notation(piece.text, reader.is_latex(piece)) if index == 0 else None
        if notation is not None:
            truth = _derivative(reader, notation, piece)
            step = ProofStep(
                truth.value, truth.value, truth.label, truth.latex, chain=number,
                source=piece.text.strip(),
            )  # fmt: skip
            out.append((step, truth))
            hint = truth.value.shape
            continue
        written, primes = reader.read(piece, hint)
        out.append(
            (
                ProofStep(
                    written,
                    reader.expand(written),
                    primes=tuple(primes),
                    chain=number,
                    source=piece.text.strip(),
                ),  # fmt: skip
                None,
            )
        )
        hint = written.shape
    first = out[0][1] if out else None
    rows = [_written_as_row(first, step.written) for step, _ in out[1:]] if first else []
    chain_rule = any(set(E.variables(step.written)) & set(reader.labels) for step, _ in out[1:])
    if first is not None and rows and all(rows) and chain_rule:
        # Parr & Howard's numerator layout, held to the end: ∂C/∂z = ∂C/∂a ∂a/∂z is a row
        row = first.as_row()
        step = ProofStep(row.value, row.value, row.label, row.latex, chain=number,
                         source=out[0][0].source)  # fmt: skip
        out[0] = (step, row)
    if label:
        reader.define(label, out[0][0].meaning)
        if len(out) == 1:  # a definition: nothing to check
            return [], True
    return out, bool(restated)


def _written_as_row(truth: Truth, following: E.Expr) -> bool:
    """A step after ∂C/∂z is a row where the gradient is a column."""
    value = truth.value
    return (
        truth.function.is_scalar and value.is_vector and not value.is_scalar
        and value.cols == 1 and following.shape == (1, value.rows)
    )  # fmt: skip


def _link(
    reader: Reader,
    truth: Truth | None,
    steps: list[ProofStep],
    source: int | None,
    target: int,
    context: list[E.Expr],
    seed: int,
) -> Link:
    after = steps[target]
    if source is None:
        assert truth is not None
        reference, label = truth.value, truth.label
    else:
        reference, label = steps[source].meaning, f"step {source + 1}"
    unknown = _undefined(after.meaning, context)
    if unknown:
        message = (
            f"step {target + 1} uses {', '.join(unknown)}, which is neither a variable of "
            f"the function nor defined before it (define it: {unknown[0]} = …)"
        )
        return Link(False, message, "shape", "unknown variable", None, source, target)
    verdict = compare(after.meaning, reference, label, context=context, seed=seed)
    message = verdict.message.replace("your result", f"step {target + 1}").replace(
        "your answer", f"step {target + 1}"
    )
    identity = ""
    if verdict.ok and source is not None:
        before = steps[source]
        if before.derivative:
            identity = "the chain rule of Jacobians"
        else:
            shown = {name: reader.labels.get(name, (name, ""))[0] for name in reader.definitions}
            values_of = {
                name: meaning.fn
                for name, meaning in reader.definitions.items()
                if isinstance(meaning, E.Apply)
            }
            identity = identity_between(
                before.written, after.written, reader.expand, shown, before.primes,
                after.primes, values_of,
            )  # fmt: skip
    return Link(
        verdict.ok, message, verdict.method, verdict.diagnosis, verdict.counterexample,
        source, target, identity,
    )  # fmt: skip


def _undefined(meaning: E.Expr, context: list[E.Expr]) -> list[str]:
    """Names a step uses that the function does not have (when there is a function)."""
    if not context:
        return []
    known = set().union(*(E.variables(e) for e in context))
    return sorted(set(E.variables(meaning)) - known)


def _verdict(steps: list[ProofStep], links: list[Link], reader: Reader) -> ProofVerdict:
    wrong = sorted((link for link in links if not link.ok), key=lambda link: link.target)
    if not wrong:
        count = len([link for link in links if link.source is not None])
        against = next((link for link in links if link.source is None), None)
        message = f"correct: every step holds ({count} link{'s' if count != 1 else ''}"
        message += f"; checked against {reader.given_label})" if against else ")"
        return ProofVerdict(
            True, tuple(steps), tuple(links), None, message, reader.definitions, reader.labels
        )
    first = wrong[0]
    if first.source is None:
        message = f"step {first.target + 1} is not the derivative: {first.message}"
    else:
        message = f"step {first.source + 1} → {first.target + 1} is wrong: {first.message}"
    return ProofVerdict(
        False, tuple(steps), tuple(links), first.target, message, reader.definitions,
        reader.labels,
    )  # fmt: skip
