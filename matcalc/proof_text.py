"""A proof as typed: its lines, chains of equalities, and derivative notation.

A proof is LaTeX (an ``align*`` / ``aligned`` body, ``&=`` lines broken by
``\\\\``, or one line ``a = b = c``) or text in the other syntaxes (one line
per relation, ``=`` between steps).  This module only cuts the text: each
chain is a list of pieces of source, with the relation that joined them
(``=`` or a definition's ``:=`` / ``\\coloneqq``).  Reading the pieces is the
parser's job; deciding what they mean is ``proof``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ParseError

MAX_PROOF_LENGTH = 100_000

ENVIRONMENT = re.compile(
    r"\\(?:begin|end)\{(?:align\*?|aligned|equation\*?|gather\*?|gathered|split|eqnarray\*?)\}"
)
DISPLAY_MATH = re.compile(r"\\\[|\\\]|\$\$|\$")
LABELS = re.compile(r"\\(?:nonumber|notag)")
DEFINE = (r"\coloneqq", ":=", r"\triangleq", r"\equiv", r"\stackrel{\text{def}}{=}")


@dataclass(frozen=True)
class Piece:
    """One side of a relation: its source text and where it starts in the proof."""

    text: str
    position: int
    latex: bool = False  # a piece of a LaTeX step is LaTeX, backslash or not (W_2)


@dataclass(frozen=True)
class Chain:
    """a = b = c: the pieces, and whether the first relation was a definition (:=)."""

    pieces: tuple[Piece, ...]
    defines: bool


def _strip_comments(text: str) -> str:
    """LaTeX comments (% to the end of the line, but not \\%) become spaces, so
    positions in the proof stay where they were."""
    return re.sub(r"(?<!\\)%[^\n]*", lambda m: " " * len(m.group(0)), text)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


REMARK_TEXT = (r"\text", r"\mbox", r"\textrm", r"\textit")


def _remarks(line: str) -> str:
    r"""Remarks blanked, and nothing else: \quad \text{(chain rule)}, && (\text{…}),
    \tag{…}, \label{…}, and a \text{…} that ends the line.  What follows a remark
    on its line is still read (a second claim after \quad \text{and} is checked)."""
    out = list(line)
    for match in re.finditer(r"\\q?quad|&&|\\tag|\\label|\\text|\\mbox|\\textrm|\\textit", line):
        marker, start, index = match.group(0), match.start(), match.end()
        if marker in (r"\tag", r"\label"):
            end = _group_end(line, index)
        elif marker in REMARK_TEXT:
            end = _group_end(line, index)
            if line[end:].strip(" .,;") or line[:start].rstrip().endswith(("quad", "&&")):
                continue  # \text{tr}(A) is a function; a remark after \quad is blanked there
        else:
            rest = line[index:]
            lead = len(rest) - len(rest.lstrip())
            index += lead
            opened = line.startswith("(", index)
            inner = index + 1 if opened else index
            while inner < len(line) and line[inner] == " ":
                inner += 1
            text_marker = next((m for m in REMARK_TEXT if line.startswith(m, inner)), None)
            if text_marker is None:
                continue  # \quad as spacing
            end = _group_end(line, inner + len(text_marker))
            if opened:
                close = line.find(")", end)
                if close < 0 or line[end:close].strip():
                    continue
                end = close + 1
        out[start:end] = " " * (end - start)
    return "".join(out)


def _group_end(text: str, start: int) -> int:
    """The index after the {…} group at start (or start, when there is none)."""
    index = start
    while index < len(text) and text[index] == " ":
        index += 1
    if index >= len(text) or text[index] != "{":
        return start
    level = 0
    for position in range(index, len(text)):
        if text[position] == "{" and text[position - 1] != "\\":
            level += 1
        elif text[position] == "}" and text[position - 1] != "\\":
            level -= 1
            if level == 0:
                return position + 1
    return len(text)


def _relations(line: str, offset: int) -> tuple[list[Piece], bool]:
    """Cut a line at its top-level = and :=; the line starts with a relation when it
    continues the previous one (&= ...)."""
    pieces: list[Piece] = []
    level, start, defines, index = 0, 0, False, 0
    first_relation = True
    while index < len(line):
        char = line[index]
        if char in "({[":
            level += 1
        elif char in ")}]":
            level -= 1
        if level == 0:
            matched = next((d for d in DEFINE if line.startswith(d, index)), None)
            if matched is None and char == "=":
                matched = "="
            if matched is not None:
                pieces.append(Piece(line[start:index], offset + start))
                if first_relation:
                    defines = matched != "="
                    first_relation = False
                index += len(matched)
                start = index
                continue
        index += 1
    pieces.append(Piece(line[start:], offset + start))
    return pieces, defines


def chains(text: str, latex: bool) -> list[Chain]:
    """The proof's chains of equalities, in order."""
    if len(text) > MAX_PROOF_LENGTH:
        raise ParseError(
            f"check_proof: the proof is {len(text)} characters long; at most {MAX_PROOF_LENGTH}"
        )
    if latex:
        text = _blank(_strip_comments(text), ENVIRONMENT)
        text = _blank(_blank(text, DISPLAY_MATH), LABELS)
        lines = _split_keeping_positions(text, r"\\\\")
    else:
        lines = _split_keeping_positions(text, r"\n|;")
    found: list[Chain] = []
    for line, offset in lines:
        if latex:
            line = _remarks(line).replace("&", " ")
        if not line.strip():
            continue
        pieces, defines = _relations(line, offset)
        pieces = [Piece(p.text.rstrip(" .,"), p.position) for p in pieces]
        if not pieces[0].text.strip():  # "&= c" continues the chain above
            if not found:
                raise ParseError(
                    "check_proof: the proof starts with '=': what is it equal to?", text, offset
                )
            previous = found.pop()
            found.append(Chain((*previous.pieces, *pieces[1:]), previous.defines))
        else:
            found.append(Chain(tuple(pieces), defines))
    for chain in found:
        for piece in chain.pieces:
            if not piece.text.strip():
                raise ParseError("check_proof: a step is empty", text, piece.position)
    if not found:
        raise ParseError("check_proof: the proof is empty")
    return found


def _split_keeping_positions(text: str, separator: str) -> list[tuple[str, int]]:
    out, start = [], 0
    for match in re.finditer(separator, text):
        out.append((text[start : match.start()], start))
        start = match.end()
    out.append((text[start:], start))
    return out


# -- derivative notation: ∂C/∂W, \frac{\partial C}{\partial W}, \nabla_W C, dC/dW --
def derivative_notation(piece: str, latex: bool) -> tuple[str, str] | None:
    """(the function's source, the variable's source) when piece is a derivative."""
    text = piece.strip()
    if not latex:
        found = re.fullmatch(r"d\s*\(?\s*(.+?)\s*\)?\s*/\s*d\s*([A-Za-z]\w*)", text)
        return (found.group(1), found.group(2)) if found else None
    for command in (r"\frac", r"\dfrac", r"\tfrac"):
        if text.startswith(command):
            return _fraction(text[len(command) :])
    if text.startswith(r"\nabla"):
        rest = text[len(r"\nabla") :].lstrip()
        if not rest.startswith("_"):
            return None
        rest = rest[1:].lstrip()
        if rest.startswith("{"):
            end = _group_end(rest, 0)
            return rest[end:].strip(), rest[1 : end - 1]
        found = re.match(r"\\?[A-Za-z]+\s*", rest)  # \nabla_W C, \nabla_\theta J
        if found is None:
            return None
        end = _group_end(rest, found.end()) if found.group(0).startswith("\\") else found.end()
        return rest[end:].strip(), rest[:end].strip()  # \nabla_\mathbf{b} C
    found = re.fullmatch(r"\\partial\s*(.+?)\s*/\s*\\partial\s*(.+)", text)
    if found:
        return found.group(1), found.group(2)
    return None


def _fraction(rest: str) -> tuple[str, str] | None:
    end = _group_end(rest, 0)
    if end == 0:
        return None
    numerator = rest[:end].strip()[1:-1].strip()
    after = rest[end:]
    end2 = _group_end(after, 0)
    if end2 == 0:
        return None
    denominator = after[:end2].strip()[1:-1].strip()
    tail = after[end2:].strip()
    marks = (r"\partial", r"\mathrm{d}", "d")
    mark = next((m for m in marks if denominator.startswith(m)), None)
    if mark is None or not numerator.startswith(mark):
        return None
    top = numerator[len(mark) :].strip()
    bottom = denominator[len(mark) :].strip()
    if not top:  # \frac{\partial}{\partial W} C
        top, tail = tail, ""
    if tail:
        return None
    return top, bottom


# -- a proof inside a document: .tex, .md, .txt ----------
MATH_BLOCKS = (
    re.compile(r"\\begin\{(align\*?|aligned|equation\*?|gather\*?)\}(.*?)\\end\{\1\}", re.S),
    re.compile(r"\$\$(.*?)\$\$", re.S),
    re.compile(r"\\\[(.*?)\\\]", re.S),
)
MARKDOWN_MATH = re.compile(r"```math\s*\n(.*?)```", re.S)


def proof_in_document(text: str, suffix: str) -> str:
    """The proof a file holds: a Markdown file's math blocks (```math or $$), a LaTeX
    file's display math (align*, aligned, equation*, \\[ \\], $$), one chain per
    block; a file with no math blocks is the proof itself."""
    blocks: list[str] = []
    if suffix == ".md":
        blocks = [m.group(1) for m in MARKDOWN_MATH.finditer(text)]
    if not blocks and suffix in (".md", ".tex"):
        body = text
        if r"\begin{document}" in body:
            body = body.split(r"\begin{document}", 1)[1].split(r"\end{document}", 1)[0]
        found = sorted(
            (m.start(), m.group(m.lastindex or 0)) for pattern in MATH_BLOCKS
            for m in pattern.finditer(body)
        )  # fmt: skip
        blocks = [block for _, block in found]
    return r" \\ ".join(block.strip() for block in blocks) if blocks else text


DERIVATIVE_FACTOR = re.compile(r"\\[dt]?frac\s*\{\s*\\partial")


def derivative_factors(text: str) -> list[tuple[int, int, tuple[str, str]]]:
    """Where \\frac{\\partial U}{\\partial V} stands inside a step: (start, end, (U, V))."""
    found = []
    for match in DERIVATIVE_FACTOR.finditer(text):
        start = match.start()
        brace = text.index("{", start)
        first = _group_end(text, brace)
        second = _group_end(text, first)
        if second == first:
            continue
        notation = _fraction(text[brace:second])
        if notation is not None and notation[0]:
            found.append((start, second, notation))
    return found
