"""LaTeX documents of derivations, and pdflatex.

A document is a title and sections; anything with a ``section()`` method
giving LaTeX (a ``Derivation``) can be a section.  ``compile_latex`` runs
pdflatex in batch mode and turns every error into a ``LatexError``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import LatexError
from .notation import latex_text


class Section(Protocol):
    def section(self) -> str: ...


# The page: portrait, 11 pt type, 2.5 cm margins.  The widths below are those of A4
# (the narrower of the two papers): a line that fits A4 fits Letter.
PAPERS = {"a4": "a4paper", "letter": "letterpaper"}
TEXT_WIDTH = 455.0  # pt: 210 mm − 2 × 25 mm
RULE_WIDTH = 125.0  # pt (4.4 cm): the narrowest column of rule annotations
RULE_WIDTH_MOST = 200.0  # pt (7 cm): the widest, when the formulas are short
TAG_WIDTH = 42.0  # pt: "(BP1)" and the space before it
GAPS = 34.0  # pt: between the formulas and the annotations, and a margin of error
CONTINUATION = r"\qquad "  # a broken line goes on indented under its first


def latex_document(sections: Sequence[Section], title: str, paper: str = "a4") -> str:
    """One LaTeX document holding several derivations, one section each: a portrait
    page of A4 or Letter (paper) on which no line runs into the margin."""
    if paper not in PAPERS:
        raise LatexError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    return "\n".join(
        [
            r"\documentclass[11pt]{article}",
            rf"\usepackage[{PAPERS[paper]},portrait,margin=2.5cm]{{geometry}}",
            r"\usepackage{amsmath,amssymb}",
            r"\allowdisplaybreaks",
            r"\setlength{\jot}{6pt}",
            r"\setlength{\parindent}{0pt}",
            r"\setlength{\parskip}{4pt}",
            # the right-hand annotation of a step: the rule, in the lecture's words, in
            # a column as wide as the formulas leave (aligned_rows sets \rulewidth)
            r"\newlength{\rulewidth}",
            rf"\setlength{{\rulewidth}}{{{RULE_WIDTH}pt}}",
            r"\newcommand{\rulenote}[1]{\parbox[t]{\rulewidth}{\raggedright\small #1}}",
            rf"\title{{{latex_text(title)}}}",
            r"\date{}",
            r"\begin{document}",
            r"\maketitle",
            *[d.section() for d in sections],
            r"\end{document}",
            "",
        ]
    )


# -- breaking a long formula across lines -------------------------------------------------
# TeX does not break a display.  The formula's printed LaTeX is read into a tree of
# atoms, binary operators and \left…\right groups; its width is estimated from the
# glyphs (11 pt Computer Modern, a little generously); a formula wider than its room is
# cut before an operator, preferring the outermost, and a group cut in two is closed
# with \right. and reopened with \left., with a \vphantom of the whole group so that
# every piece's parentheses keep the size of the whole.
_TEX_TOKEN = re.compile(
    r"\\left\s*(?:\\[A-Za-z]+|\\.|[^\s\\])|\\right\s*(?:\\[A-Za-z]+|\\.|[^\s\\])"
    r"|\\[A-Za-z]+\*?|\\.|\s+|.",
    re.S,
)
_ARGUMENTS = {
    r"\frac": 2, r"\tfrac": 2, r"\dfrac": 2, r"\binom": 2, r"\operatorname": 1,
    r"\mathbf": 1, r"\boldsymbol": 1, r"\mathit": 1, r"\mathrm": 1, r"\text": 1,
    r"\textbf": 1, r"\sqrt": 1, r"\vphantom": 1, r"\hat": 1, r"\bar": 1, r"\tilde": 1,
    r"\overline": 1, r"\mathcal": 1, r"\mathbb": 1,
}  # fmt: skip
_OPERATORS = {
    "+", "-", "=", "<", ">", r"\odot", r"\oslash", r"\times", r"\cdot", r"\leq", r"\geq",
    r"\neq", r"\approx", r"\otimes", r"\circ", r"\pm",
}  # fmt: skip
_WIDTHS = {
    r"\partial": 6.2, r"\top": 7.8, r"\circ": 5.0, r"\quad": 11.0, r"\qquad": 22.0,
    r"\,": 1.8, r"\;": 3.1, r"\ ": 3.7, r"\!": -1.8, r"\|": 5.5, r"\lVert": 5.5,
    r"\rVert": 5.5, r"\infty": 11.0, r"\dots": 14.0, r"\nabla": 9.2,
}  # fmt: skip
_WIDE_LETTERS = {"W": 11.9, "M": 10.7, "N": 9.9, "m": 9.9, "w": 8.3}
_NAMED_FUNCTIONS = {r"\log", r"\exp", r"\det", r"\max", r"\min", r"\sin", r"\cos", r"\tanh"}
SAFETY = 1.15  # estimates err wide: a line a little short is better than one too long
DEPTH_COST = 60.0  # pt of uneven lines worth one level less of parentheses at a cut


@dataclass
class _Item:
    text: str
    width: float
    operator: bool = False  # a binary operator or relation: a line may start with it


@dataclass
class _Group:
    open: str
    items: list[_Item | _Group]
    close: str = ""
    scripts: str = ""
    width: float = 0.0
    operator: bool = False
    tall: bool = False  # holds a fraction: its parentheses grow

    @property
    def side(self) -> float:
        """The width of one of its delimiters."""
        return 8.0 if self.tall else 4.6

    @property
    def text(self) -> str:
        return _joined([self.open, *(i.text for i in self.items), self.close + self.scripts])

    def inner(self) -> str:
        return _joined([i.text for i in self.items])


def _joined(parts: Sequence[str]) -> str:
    return " ".join(p for p in parts if p)


def _glyph_width(token: str) -> float:
    if token in _WIDTHS:
        return _WIDTHS[token]
    if token in _NAMED_FUNCTIONS:
        return 5.3 * (len(token) - 1) + 2.0
    if token.startswith("\\"):
        return 8.0 if len(token) > 2 else 5.5  # a Greek letter, a symbol; \{, \%
    if token in _WIDE_LETTERS:
        return _WIDE_LETTERS[token]
    if token.isupper():
        return 8.6
    if token.isalpha():
        return 6.0
    if token.isdigit():
        return 5.5
    if token in "()[]|":
        return 4.3
    if token in ",;":
        return 4.8  # the glyph and the thin space after it
    if token in "'":
        return 3.2
    return 6.0


def _argument(tokens: list[str], at: int) -> tuple[str, float, int]:
    """The argument starting at tokens[at] (a {…} group or one token): its LaTeX, its
    width, and the index after it."""
    while at < len(tokens) and tokens[at].isspace():
        at += 1
    if at >= len(tokens):
        return "", 0.0, at
    if tokens[at] != "{":
        token = tokens[at]
        return token, _glyph_width(token), at + 1
    depth, end = 0, at
    while end < len(tokens):
        depth += {"{": 1, "}": -1}.get(tokens[end], 0)
        if depth == 0:
            break
        end += 1
    inner = tokens[at + 1 : end]
    return "{" + "".join(inner) + "}", estimate(_parse(inner)[0]), end + 1


def _parse(tokens: list[str], at: int = 0) -> tuple[list[_Item | _Group], int]:
    """Items up to the end or to the \right that closes the caller's group."""
    items: list[_Item | _Group] = []
    while at < len(tokens):
        token = tokens[at]
        if token.isspace():
            at += 1
        elif token.startswith(r"\right"):
            return items, at
        elif token.startswith(r"\left"):
            inner, at = _parse(tokens, at + 1)
            close = tokens[at] if at < len(tokens) else r"\right."
            group = _Group(token, inner, close, tall=_is_tall(inner))
            group.width = estimate(inner) + 2 * group.side
            items.append(group)
            at += 1
        elif token in "^_":
            shown, width, at = _argument(tokens, at + 1)
            target = items[-1] if items else None
            # a script is set smaller, after the base's italic correction and \scriptspace
            if isinstance(target, _Group):
                target.scripts += token + shown
                target.width += 0.72 * width + 1.2
            elif target is not None:
                target.text += token + shown
                target.width += 0.72 * width + 1.2
            else:
                items.append(_Item("{}" + token + shown, 0.72 * width))
        elif token == "{":
            shown, width, at = _argument(tokens, at)
            items.append(_Item(shown, width))
        elif token in _ARGUMENTS:
            parts, widths, at = [token], [], at + 1
            for _ in range(_ARGUMENTS[token]):
                argument, width, at = _argument(tokens, at)
                parts.append(argument)
                widths.append(width)
            if token in (r"\frac", r"\tfrac", r"\dfrac", r"\binom"):
                width = max(widths) + 2.4
            elif token == r"\operatorname":
                width = 1.0 * sum(widths) * 0.95 + 3.4
            elif token in (r"\mathbf", r"\boldsymbol"):
                width = 1.12 * sum(widths)
            elif token == r"\sqrt":
                width = sum(widths) + 9.0
            elif token == r"\vphantom":
                width = 0.0
            else:
                width = sum(widths)
            items.append(_Item("".join(parts), width))
        elif token == ":" and items and isinstance(items[-1], _Item) and items[-1].text == "=":
            items[-1].text, items[-1].width = "=:", items[-1].width + 3.0  # =: δ
            at += 1
        elif token in _OPERATORS:
            unary = token in "+-" and (not items or items[-1].operator)
            relation = token in "=<>" or token.startswith((r"\leq", r"\geq", r"\neq", r"\approx"))
            width = _glyph_width(token) + (5.6 if relation else 4.4) * (0 if unary else 1) + 2.0
            items.append(_Item(token, width, operator=not unary))
            at += 1
        else:
            items.append(_Item(token, _glyph_width(token)))
            at += 1
    return items, at


def _is_tall(inner: Sequence[_Item | _Group]) -> bool:
    """Does a \\left( holding these grow taller than a parenthesis (a fraction in it)?"""
    return any(i.tall if isinstance(i, _Group) else i.text.startswith(r"\frac") for i in inner)


def estimate(items: Sequence[_Item | _Group]) -> float:
    """The estimated width in pt of parsed items."""
    return sum(item.width for item in items)


def width_of(latex: str) -> float:
    """The estimated width in pt of a formula typeset in display style."""
    return SAFETY * estimate(_parse(_TEX_TOKEN.findall(latex))[0])


@dataclass
class _Event:
    kind: str  # "atom", "open", "close", "break"
    text: str = ""
    width: float = 0.0
    depth: int = 0
    group: _Group | None = None


def _events(items: Sequence[_Item | _Group], depth: int = 0) -> list[_Event]:
    out: list[_Event] = []
    for item in items:
        if isinstance(item, _Group):
            out.append(_Event("open", item.open, item.side * SAFETY, depth, item))
            out += _events(item.items, depth + 1)
            out.append(
                _Event(
                    "close",
                    item.close + item.scripts,
                    (item.width - estimate(item.items) - item.side) * SAFETY,
                    depth,
                    item,
                )  # fmt: skip
            )
            continue
        if item.operator and out:
            out.append(_Event("break", depth=depth))
        out.append(_Event("atom", item.text, item.width * SAFETY, depth))
    return out


def break_formula(latex: str, first: float, rest: float | None = None) -> list[str]:
    """The formula cut into lines, the first at most first pt wide, the others at most
    rest; each line is balanced LaTeX, every line after the first starting with an
    operator.  A formula that fits, or that has no operator to cut before, is one line."""
    rest = first if rest is None else rest
    events = _events(_parse(_TEX_TOKEN.findall(latex))[0])
    cuts: list[int] = []
    used, limit = 0.0, first
    candidates: list[tuple[int, int, float]] = []  # (index, depth, width before it)
    after = [0.0] * (len(events) + 1)  # the width of the events from each index on
    for index in range(len(events) - 1, -1, -1):
        after[index] = after[index + 1] + events[index].width
    for index, event in enumerate(events):
        if event.kind == "break":
            candidates.append((index, event.depth, used))
            continue
        while used + event.width > limit and candidates:
            # lines of even length, cut as far out as can be: the rest of the formula
            # from this line's start, shared among as few lines as it needs
            remaining = used + after[index]
            target = remaining / max(1, -(-remaining // limit))
            late = [c for c in candidates if c[2] >= 0.3 * limit] or candidates[-1:]
            cut = min(late, key=lambda c: c[1] * DEPTH_COST + abs(c[2] - target))
            cuts.append(cut[0])
            used -= cut[2]
            limit = rest
            candidates = [(i, d, w - cut[2]) for i, d, w in candidates if i > cut[0]]
        used += event.width
    if not cuts:
        return [latex]
    bounds = [0, *cuts, len(events)]
    # the groups open at each cut are the ones that must be closed and reopened
    open_at: list[list[_Group]] = []
    stack: list[_Group] = []
    for index, event in enumerate(events):
        if index in cuts:
            open_at.append(list(stack))
        if event.kind == "open" and event.group is not None:
            stack.append(event.group)
        elif event.kind == "close":
            stack.pop()
    broken = {id(g) for groups in open_at for g in groups}
    lines = []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        reopened = open_at[number - 1] if number else []
        closed = open_at[number] if number < len(cuts) else []
        parts = [rf"\left. \vphantom{{{g.inner()}}}" for g in reopened]
        if number:
            parts.append("{}")  # the operator that starts the line stays binary
        for event in events[start:end]:
            if event.kind == "atom":
                parts.append(event.text)
            elif event.kind == "open" and event.group is not None:
                shown = event.text
                if id(event.group) in broken:
                    shown += rf" \vphantom{{{event.group.inner()}}}"
                parts.append(shown)
            elif event.kind == "close":
                parts.append(event.text)
        parts += [r"\right."] * len(closed)
        lines.append(_joined(parts))
    return lines


Row = tuple[str, str, str, str]  # left side, "= right side", annotation (text mode), tag


def aligned_rows(rows: Sequence[Row], width: float = TEXT_WIDTH) -> str:
    """An align* environment, one row per (left, right, annotation, tag): the right
    side broken across lines to fit beside the annotations and tags, broken lines
    going on indented under the first.  A row with neither side is its annotation as
    words between the rows (\\intertext)."""
    notes = any(row[2] for row in rows if row[0] or row[1])
    tags = any(row[3] for row in rows)
    left = max((width_of(row[0]) for row in rows if row[0]), default=0.0)
    widest = max((width_of(row[1]) for row in rows if row[1]), default=0.0)
    room = width - left - GAPS - (TAG_WIDTH if tags else 0.0)
    note_width = min(max(room - widest, RULE_WIDTH), RULE_WIDTH_MOST) if notes else 0.0
    room = max(room - note_width, 120.0)
    lines = []
    for lhs, rhs, note, tag in rows:
        if not lhs and not rhs:
            lines.append(rf"\intertext{{{note}}}")
            continue
        pieces = break_formula(rhs, room, room - 22.0)
        first = f"{lhs} &{pieces[0]}"
        if note:
            first += rf" && \rulenote{{{note}}}"
        if tag:
            first += rf" \tag{{{tag}}}"
        body = [first] + [f"& {CONTINUATION}{piece}" for piece in pieces[1:]]
        lines.append(" \\\\\n".join(body))
    width_setting = rf"\setlength{{\rulewidth}}{{{note_width:.0f}pt}}" + "\n" if notes else ""
    return width_setting + "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"


def _file(path: str | Path) -> Path:
    """path as a file to write: not a directory, not empty."""
    found = Path(path)
    if found.name in ("", ".", "..") or found.is_dir():
        raise LatexError(f"{path} is a directory, not a file to write")
    return found


def write_tex(sections: Sequence[Section], path: str | Path, title: str, paper: str = "a4") -> Path:
    """Write the .tex document of the sections; its path."""
    tex = _file(path)
    source = latex_document(sections, title, paper)
    tex.parent.mkdir(parents=True, exist_ok=True)
    tex.write_text(source, encoding="utf-8")
    return tex


def write_document(
    sections: Sequence[Section],
    path: str | Path,
    title: str,
    force: bool = False,
    paper: str = "a4",
) -> Path:
    """Write a .tex document of the derivations beside the PDF and compile it.

    The .tex is a file the caller did not name: one that exists with other content
    (the user's own paper.tex beside paper.pdf) is never overwritten unless force.
    """
    tex = _file(path).with_suffix(".tex")
    source = latex_document(sections, title, paper)
    if tex.exists() and not force:
        try:
            same = tex.read_text(encoding="utf-8") == source
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            raise LatexError(
                f"{tex} exists and is not this document: it is not overwritten "
                "(choose another name, or force it: --force, force=True)"
            )
    return compile_latex(write_tex(sections, tex, title, paper))


TEX_SECONDS = 60
# TeX runs caged: no shell commands, and it reads and writes only in its own
# directory and the TeX tree (kpathsea's "paranoid" setting), whatever the
# user's texmf.cnf or environment says.
CAGE = {
    **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TEXMFHOME", "TMPDIR")},
    "shell_escape": "f",
    "openin_any": "p",
    "openout_any": "p",
}


def compile_latex(tex: Path, log: Path | None = None) -> Path:
    """pdflatex in batch mode; any error or undefined control sequence raises.
    pdflatex's log is copied to log when one is given (to read its warnings)."""
    program = shutil.which("pdflatex")
    if program is None:
        raise LatexError(
            f"pdflatex is not installed, so no PDF was made; the LaTeX source is in {tex} "
            "(install texlive-latex-base and texlive-latex-recommended, or compile it elsewhere)"
        )
    with tempfile.TemporaryDirectory() as work:
        # a fixed name in the cage: a file name is never read by TeX as code
        shutil.copyfile(tex, Path(work, "document.tex"))
        try:
            run = subprocess.run(
                [
                    program,
                    "-no-shell-escape",
                    "-interaction=batchmode",
                    "-halt-on-error",
                    "document.tex",
                ],
                capture_output=True,
                text=True,
                timeout=TEX_SECONDS,
                env=CAGE,
                cwd=work,
            )
        except subprocess.TimeoutExpired:
            raise LatexError(
                f"pdflatex did not finish {tex} in {TEX_SECONDS} s (a macro that never ends?)"
            ) from None
        written = Path(work, "document.log")
        log_text = written.read_text(errors="replace") if written.exists() else run.stdout
        if log is not None:
            Path(log).write_text(log_text, encoding="utf-8")
        problems = [line for line in log_text.splitlines() if line.startswith("!")]
        if "Undefined control sequence" in log_text:
            problems.append("Undefined control sequence")
        pdf = Path(work, "document.pdf")
        if run.returncode != 0 or problems or not pdf.exists():
            raise LatexError(f"pdflatex failed on {tex}: {'; '.join(problems) or run.returncode}")
        target = tex.with_suffix(".pdf")
        shutil.copyfile(pdf, target)
    return target
