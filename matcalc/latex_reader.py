"""LaTeX to expressions, as students type it and as ``mc.latex`` prints it.

``read_latex(text, shapes)`` tokenizes the math, reads it by recursive descent
into the whitelisted Python ``ast`` nodes the text parser checks, and hands
them to the same ``Builder`` (so shapes are inferred and checked exactly as for
text).  No TeX is run and nothing reaches ``eval``: every command is looked up
in the tables below, and an unknown one is an error at its position.

What it reads (the lecture's notation and its common variants):

- names: ``x``, ``\\mathbf{x}``, ``\\boldsymbol{x}``, ``\\bm{x}``, ``\\vec{x}``,
  ``\\mathit{loss}``; ``W_1``, ``W_{1}`` and ``W^{(1)}`` are ``W1``,
  ``\\mathbf{x}_{\\mathrm{out}}`` is ``x_out``; Greek letters by name
  (``\\delta_2`` is ``δ2``; lowercase Greek other than δ are scalars unless
  declared).  Single letters side by side are separate names: ``Wx`` is W x.
- products: juxtaposition, ``\\cdot``, ``\\times`` and ``*`` are the matrix
  product (scalar times anything); ``\\odot`` and ``\\circ`` are the Hadamard
  product, ``\\oslash`` elementwise division; juxtaposition binds tighter than
  ``\\odot`` (W x ⊙ y is (W x) ⊙ y).
- ``^\\top``, ``^T``, ``^{\\mathsf T}``, ``^\\intercal`` (transpose),
  ``^{-1}``, ``^{-\\top}``; a power of a scalar or, elementwise, of a vector
  (``2^{\\mathbf{x}}`` too, like ``e^{\\mathbf{x}}``); ``A^{\\circ 2}`` (as
  ``mc.latex`` prints it) or ``A^{\\odot 2}`` for the elementwise power of a
  matrix and ``A^{\\circ -1}`` for its entries' reciprocals (``A^2`` of a
  matrix is refused: the matrix power is A A; ``A^{-1}`` is the inverse).
- ``\\frac{a}{b}``, ``a / b``, ``\\sqrt{x}``, ``|x|``, ``\\|x\\|`` (with
  ``_2`` or ``_F``), ``\\langle x, y \\rangle``, ``\\max(a, b)``, ``\\sum(x)``
  (the sum of all entries), ``\\mathbf{1}`` / ``\\mathbf{0}`` / ``I`` with
  their size inferred (or given: ``\\mathbf{1}_n``, ``I_n``), ``e^{x}``.
- functions: every catalogue entry by its LaTeX name (``\\sigma``, ``\\tanh``,
  ``\\exp``, ``\\log``) or as ``\\operatorname{relu}``, ``\\mathrm{tr}``,
  ``\\text{softmax}``; ``\\sigma'(z)`` and ``\\sigma^\\prime(z)`` for f′;
  ``\\tanh^2(z)``; a function without parentheses takes one factor
  (``\\log x``) and refuses to guess when more follow (``\\operatorname{tr} A B``).
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import cast

from . import expr as E
from .builder import ARITY, INFERRED_SIZE, Builder, Dim, prime_call, screen, unify
from .errors import ParseError
from .functions import CATALOGUE, FUNCTIONS

MAX_DEPTH = 100  # nested groups; deeper text is refused, never recursed into

TOKEN = re.compile(
    r"(?P<space>\s+|~)|(?P<cmd>\\[A-Za-z]+\*?|\\[^A-Za-z])|(?P<num>\d+(?:\.\d+)?|\.\d+)|"
    r"(?P<char>[A-Za-z]|[-+*/^_()\[\]{}|',=&<>!.:;])"
)

# commands that only space or size things: dropped
IGNORED = {
    r"\,", r"\;", r"\:", r"\!", "\\ ", r"\quad", r"\qquad", r"\displaystyle", r"\textstyle",
    r"\left", r"\right", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl",
    r"\Bigr", r"\biggl", r"\biggr", r"\Biggl", r"\Biggr", r"\middle", r"\nonumber", r"\notag",
}  # fmt: skip
# delimiters, spelled one way each
DELIMITERS = {
    r"\lVert": "‖<", r"\rVert": "‖>", r"\Vert": "‖", r"\|": "‖", r"\lvert": "|<", r"\rvert": "|>",
    r"\vert": "|", r"\{": "(", r"\}": ")", r"\lbrack": "[", r"\rbrack": "]",
    r"\langle": "⟨", r"\rangle": "⟩",
}  # fmt: skip
OPENING = {"(": ")", "[": "]", "{": "}"}
HADAMARD = {r"\odot": ast.Mult, r"\circ": ast.Mult, r"\oslash": ast.Div}
# a superscript starting with one of these is a Hadamard power: A^{\circ 2} = A ⊙ A
HADAMARD_POWER = {r"\circ", r"\odot"}
TIMES = {r"\cdot", r"\times", "*"}
TRANSPOSE = {r"\top", "T", r"\intercal"}
FONTS = {
    r"\mathbf", r"\boldsymbol", r"\bm", r"\vec", r"\mathit", r"\mathrm", r"\mathsf",
    r"\text", r"\textrm", r"\textit", r"\operatorname", r"\operatorname*", r"\mathbb",
}  # fmt: skip
BOLD = {r"\mathbf", r"\boldsymbol", r"\bm", r"\vec"}  # a bold lowercase name is a vector
VARIANT_GREEK = {r"\varepsilon": "epsilon", r"\varphi": "phi", r"\vartheta": "theta"}
GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho tau "
    "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Phi Psi Omega"
).split()
VECTOR_GREEK = {"δ"}  # Nielsen's error δ is a vector; other lowercase Greek are scalars


def _greek(name: str) -> str:
    case = "CAPITAL" if name[0].isupper() else "SMALL"
    spelled = "LAMDA" if name.lower() == "lambda" else name.upper()
    return unicodedata.lookup(f"GREEK {case} LETTER {spelled}")


GREEK = {"\\" + name: _greek(name) for name in GREEK_NAMES}
GREEK_OF = {_greek(name): name for name in GREEK_NAMES}  # δ → delta
GREEK.update({command: _greek(name) for command, name in VARIANT_GREEK.items()})

# functions by their LaTeX command (\sigma, \tanh) and by their name inside
# \operatorname{...} / \mathrm{...} / \text{...}
FUNCTION_COMMANDS = {
    entry.latex: entry.name for entry in CATALOGUE if not entry.latex.startswith(r"\operatorname")
}
FUNCTION_COMMANDS.update({r"\ln": "log", r"\det": "det", r"\max": "maximum", r"\Tr": "trace"})
NAMED_CALLS = {
    "tr": "trace", "Tr": "trace", "trace": "trace", "det": "det", "diag": "diag",
    "softmax": "softmax", "logsumexp": "logsumexp", "sum": "sum", "max": "maximum",
    "logdet": "logdet", "diagpart": "diagpart",
}  # fmt: skip
NAMED_CALLS.update({n: entry.name for entry in CATALOGUE for n in (entry.name, *entry.aliases)})
TWO_ARGUMENTS = {"maximum"}


@dataclass(frozen=True)
class Token:
    kind: str  # "cmd", "num", "char", "end"
    value: str
    position: int


REFUSED = {char: f"{char!r} has no place in a formula" for char in "%#$"}


def _screen(text: object) -> str:
    return screen(text, REFUSED)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position, side = 0, ""
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"parse: unexpected {text[position]!r}", text, position)
        kind = match.lastgroup or "char"
        value = match.group(0)
        position = match.end()
        if value in (r"\left", r"\right"):  # \left| opens a bar and \right| closes it
            side = "<" if value == r"\left" else ">"
            continue
        if kind == "space" or value in IGNORED:
            continue
        if value in DELIMITERS:
            kind, value = "char", DELIMITERS[value]
        if value in ("|", "‖") and side:
            value += side
        side = ""
        tokens.append(Token(kind, value, match.start()))
    tokens.append(Token("end", "", len(text)))
    return tokens


def _node(cls, position: int, **fields):  # an ast node carrying its place in the text
    made = cls(**fields)
    made.col_offset, made.lineno = position, 1
    return made


def _call(name: str, args: list[ast.expr], position: int) -> ast.Call:
    return _node(
        ast.Call, position, func=_node(ast.Name, position, id=name, ctx=ast.Load()),
        args=args, keywords=[],
    )  # fmt: skip


def _number(value: float | int, position: int) -> ast.Constant:
    return _node(ast.Constant, position, value=value)


class LatexReader:
    """Recursive descent over the tokens; each method reads one level of precedence."""

    def __init__(self, text: str, shapes: Mapping[str, object]) -> None:
        self.text, self.shapes = text, shapes
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.bars: list[str] = []  # open | and ‖, innermost last: the next one closes
        self.primes: list[str] = []  # f′ written as a prime, by function name (for proofs)
        self.bold: dict[str, int] = {}  # lowercase names written bold (vectors), and where

    # -- tokens ----------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token.kind != "end" and token.value in values

    def fail(self, message: str, token: Token | None = None) -> ParseError:
        where = (token or self.peek()).position
        return ParseError(f"parse: {message}", self.text, where)

    def expect(self, value: str, what: str) -> Token:
        if not self.at(value):
            found = self.peek().value or "the end"
            raise self.fail(f"expected {value!r} {what}, found {found!r}")
        return self.take()

    def nested(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the formula is nested too deeply (at most {MAX_DEPTH} levels)", token)

    # -- the grammar ----------
    def read(self) -> ast.Expression:
        body = self.expression()
        if self.peek().kind != "end":
            token = self.peek()
            if token.value == r"\\":
                raise self.fail(r"a line break \\ ends a line of a proof, not a formula", token)
            raise self.fail(f"unexpected {token.value!r}", token)
        return ast.Expression(body=body)

    def expression(self) -> ast.expr:
        """sum := signed (('+' | '-') signed)*"""
        node = self.signed()
        while self.at("+", "-"):
            token = self.take()
            operator = ast.Add() if token.value == "+" else ast.Sub()
            node = _node(ast.BinOp, token.position, left=node, op=operator, right=self.signed())
        return node

    def signed(self) -> ast.expr:
        if self.at("+", "-"):
            token = self.take()
            self.nested(token)
            operand = self.signed()
            self.depth -= 1
            operator = ast.USub() if token.value == "-" else ast.UAdd()
            return _node(ast.UnaryOp, token.position, op=operator, operand=operand)
        return self.hadamard()

    def hadamard(self) -> ast.expr:
        """hadamard := product ((⊙ | ∘ | ⊘) product)*"""
        node = self.product()
        while self.at(*HADAMARD):
            token = self.take()
            right = self.signed_factor()
            right = self.product(right)
            node = _node(
                ast.BinOp, token.position, left=node, op=HADAMARD[token.value](), right=right
            )
        return node

    def product(self, first: ast.expr | None = None) -> ast.expr:
        """product := power ((· | × | * | / | juxtaposition) power)*"""
        node = first if first is not None else self.power()
        while True:
            token = self.peek()
            if self.at(*TIMES) or self.at("/"):
                self.take()
                operator = ast.Div() if token.value == "/" else ast.MatMult()
                right = self.signed_factor()
            elif self.starts_factor():
                operator, right = ast.MatMult(), self.power()
            else:
                return node
            node = _node(ast.BinOp, token.position, left=node, op=operator, right=right)

    def signed_factor(self) -> ast.expr:
        if self.at("-", "+"):
            token = self.take()
            operator = ast.USub() if token.value == "-" else ast.UAdd()
            return _node(ast.UnaryOp, token.position, op=operator, operand=self.signed_factor())
        return self.power()

    def starts_factor(self) -> bool:
        token = self.peek()
        if token.kind in ("num", "end"):
            return token.kind == "num"
        if token.kind == "char":
            if token.value in ("|", "‖"):
                return token.value not in self.bars  # inside |…| a bar closes
            if token.value in ("|<", "‖<"):
                return True
            return token.value.isalpha() or token.value in "([{⟨"
        return not (
            token.value in HADAMARD or token.value in TIMES or token.value in (r"\\", r"\top")
        )

    def power(self) -> ast.expr:
        """power := atom postfix*, postfix := ^{…} (transpose, inverse, exponent)"""
        node = self.atom()
        if self.at("^"):
            caret = self.take()
            node = self.superscript(node, caret)
            if self.at("^"):
                raise self.fail("a double superscript: write x^{a b} or (x^a)^b", self.peek())
        if self.at("'"):
            raise self.fail("a prime marks a function's derivative (σ′(z)); x' is not read")
        return node

    def superscript(self, base: ast.expr, caret: Token) -> ast.expr:
        content = self.script_tokens("^")
        values = [t.value for t in content]
        joined = "".join(values)
        bare = re.sub(r"\\math(?:sf|rm|bf|it)|\\rm|[{}]", "", joined)
        if bare in TRANSPOSE:
            return _node(ast.Attribute, caret.position, value=base, attr="T", ctx=ast.Load())
        if joined == "-1":
            return _call("inv", [base], caret.position)
        if bare in {"-" + t for t in TRANSPOSE}:
            inverse = _call("inv", [base], caret.position)
            return _node(ast.Attribute, caret.position, value=inverse, attr="T", ctx=ast.Load())
        elementwise = bool(values) and values[0] in HADAMARD_POWER
        exponent = self.sub_reader(content[1:] if elementwise else content, "exponent").read()
        node = _node(ast.BinOp, caret.position, left=base, op=ast.Pow(), right=exponent.body)
        node.elementwise = elementwise  # type: ignore[attr-defined]
        return node

    def script_tokens(self, mark: str) -> list[Token]:
        """The tokens of a ^ or _ script: a {group}, or one token (one digit of a number)."""
        token = self.peek()
        if token.kind == "end":
            raise self.fail(f"{mark} needs something after it")
        if self.at("{"):
            return self.group_tokens()
        self.take()
        if token.kind == "num" and len(token.value) > 1:  # TeX reads x^23 as x² 3: ask
            raise self.fail(
                f"write {mark}{{{token.value}}}: TeX reads {mark}{token.value} "
                f"as {mark}{token.value[0]} followed by {token.value[1:]}",
                token,
            )
        if token.value in FONTS:  # ^\mathsf{T}
            inner = self.group_tokens()
            return [
                Token("cmd", f"{token.value}{{{''.join(t.value for t in inner)}}}", token.position)
            ]
        return [token]

    def group_tokens(self) -> list[Token]:
        """The tokens inside a balanced {…}, the braces consumed."""
        opening = self.expect("{", "to open a group")
        level, start = 1, self.index
        while level:
            token = self.take()
            if token.kind == "end":
                raise self.fail("this { is never closed", opening)
            level += {"{": 1, "}": -1}.get(token.value, 0) if token.kind == "char" else 0
            if level > MAX_DEPTH:
                raise self.fail(f"the formula is nested too deeply (at most {MAX_DEPTH} levels)")
        return self.tokens[start : self.index - 1]

    def sub_reader(self, tokens: list[Token], what: str) -> LatexReader:
        if not tokens:
            raise self.fail(f"the {what} is empty")
        reader = LatexReader.__new__(LatexReader)
        reader.text, reader.shapes = self.text, self.shapes
        reader.tokens = [*tokens, Token("end", "", tokens[-1].position + 1)]
        reader.index, reader.depth, reader.bars = 0, self.depth + 1, []
        reader.primes, reader.bold = self.primes, self.bold
        if reader.depth > MAX_DEPTH:
            raise self.fail(f"the formula is nested too deeply (at most {MAX_DEPTH} levels)")
        return reader

    # -- atoms ----------
    def atom(self) -> ast.expr:
        """One factor; each is a level of nesting (\\sigma \\sigma … x recurses here)."""
        token = self.peek()
        self.nested(token)
        try:
            return self._atom(token)
        finally:
            self.depth -= 1

    def _atom(self, token: Token) -> ast.expr:
        if token.kind == "end":
            raise self.fail("the formula ends too early")
        if token.kind == "num":
            self.take()
            if len(token.value) > 30:
                raise self.fail("the number is too long (at most 30 digits)", token)
            number = float(token.value) if "." in token.value else int(token.value)
            return _number(number, token.position)
        value = token.value
        if token.kind == "char":
            if value in OPENING or value == "⟨":
                return self.group()
            if value in ("|", "‖", "|<", "‖<"):
                return self.bars_group()
            if value.isalpha():
                self.take()
                return self.name(value, token)
            raise self.fail(f"unexpected {value!r}", token)
        return self.command(token)

    def group(self) -> ast.expr:
        opening = self.take()
        self.nested(opening)
        if opening.value == "⟨":  # ⟨x, y⟩
            left = self.expression()
            self.expect(",", "between the two vectors of ⟨x, y⟩")
            right = self.expression()
            self.expect("⟩", "to close ⟨")
            self.depth -= 1
            return _call("dot", [left, right], opening.position)
        saved, self.bars = self.bars, []
        inner = self.expression()
        self.bars = saved
        closing = OPENING[opening.value]
        if not self.at(closing):
            raise self.fail(f"expected {closing!r} to close the {opening.value!r}", self.peek())
        self.take()
        self.depth -= 1
        return inner

    def bars_group(self) -> ast.expr:
        """|x| is abs; ‖x‖, ‖x‖₂ and ‖X‖_F are norms."""
        opening = self.take()
        self.nested(opening)
        bar = opening.value[0]
        self.bars.append(bar if len(opening.value) == 1 else "")
        inner = self.expression()
        self.bars.pop()
        if not self.at(bar, bar + ">"):
            raise self.fail(f"expected {bar} to close the {bar} at {opening.position}")
        self.take()
        self.depth -= 1
        if bar == "|":
            bars = _call("abs", [inner], opening.position)
            bars.bars = "|"  # type: ignore[attr-defined]  # |X| of a matrix is refused
            return bars
        which = ""
        if self.at("_"):
            self.take()
            which = "".join(t.value for t in self.script_tokens("_"))
            if which not in ("2", "F"):
                raise self.fail(f"only the 2-norm and the Frobenius norm are read, not ‖·‖_{which}")
        norm = _call("norm", [inner], opening.position)
        norm.bars = which  # type: ignore[attr-defined]  # ‖A‖₂ of a matrix is refused
        return norm

    def command(self, token: Token) -> ast.expr:
        value = token.value
        if value in (r"\frac", r"\dfrac", r"\tfrac"):
            self.take()
            if self.at("{") and self.peek(1).value in ("d", r"\mathrm", r"\partial"):
                if self.peek(1).value != "d" or self._dx_fraction():
                    raise self.fail(
                        "a derivative (dC/dx, ∂C/∂x) stands only in a proof's steps "
                        "(mc.check_proof)", token,
                    )  # fmt: skip
            numerator = self.argument("numerator")
            denominator = self.argument("denominator")
            return _node(ast.BinOp, token.position, left=numerator, op=ast.Div(), right=denominator)
        if value == r"\sqrt":
            self.take()
            if self.at("["):
                raise self.fail(r"only square roots are read (\sqrt[k] is not)")
            return _call("sqrt", [self.argument("root")], token.position)
        if value == r"\sum":
            self.take()
            if self.at("_", "^"):
                raise self.fail(
                    r"index sums are not read: \sum(x) is the sum of all entries of x, "
                    r"\mathbf{1}^\top x too"
                )
            return self.apply("sum", token)
        if value in GREEK:
            self.take()
            return self.name(GREEK[value], token)
        if value == r"\log" and self.peek(1).value == r"\det":
            self.take()
            self.take()
            return self.apply("logdet", token)
        if value in FUNCTION_COMMANDS:
            self.take()
            if value == r"\sigma" and ({"σ", "sigma"} & set(self.shapes)):
                return self.name("σ", token)  # a declared σ is a variable (a variance)
            return self.apply(FUNCTION_COMMANDS[value], token)
        if value in FONTS:
            self.take()
            inner = self.group_tokens() if self.at("{") else [self.take()]
            word = "".join(GREEK.get(t.value, t.value) for t in inner)
            if value in (r"\operatorname", r"\operatorname*", r"\text", r"\textrm", r"\mathrm"):
                if word in NAMED_CALLS:
                    return self.apply(NAMED_CALLS[word], token)
                if word == "d":
                    raise self.fail("a differential d x is not read; derivatives stand in a "
                                    "proof's steps (mc.check_proof)", token)  # fmt: skip
                if value in (r"\operatorname", r"\operatorname*") or (
                    len(word) > 1 and self.at("(", "[")
                ):
                    known = ", ".join(sorted(NAMED_CALLS))
                    raise self.fail(f"unknown function {word!r} (known: {known})", token)
            if word == "log" and value != r"\mathbf":
                return self.apply("log", token)
            return self.font_name(word, value, token)
        if value in (r"\partial", r"\nabla"):
            raise self.fail(
                "a derivative (∂, ∇) stands only as the first step of a proof (mc.check_proof)",
                token,
            )
        if value == r"\\":
            raise self.fail(r"a line break \\ ends a line of a proof, not a formula", token)
        if value in HADAMARD or value in TIMES:
            raise self.fail(f"{value} needs something on its left", token)
        raise self.fail(f"the command {value} is not one the reader knows", token)

    def argument(self, what: str) -> ast.expr:
        """A command's argument: {group}, or one token (\\frac12)."""
        if self.at("{"):
            return self.sub_reader(self.group_tokens(), what).read().body
        token = self.peek()
        if token.kind == "num" and len(token.value) > 1:
            self.take()
            self.tokens.insert(self.index, Token("num", token.value[1:], token.position + 1))
            return _number(int(token.value[0]), token.position)
        return self.atom()

    def _dx_fraction(self) -> bool:
        """{d C}{d x}: the numerator and the denominator both start with d."""
        tokens = self.tokens[self.index :]
        level = 0
        for index, token in enumerate(tokens):
            level += {"{": 1, "}": -1}.get(token.value, 0) if token.kind == "char" else 0
            if level == 0:
                rest = tokens[index + 1 : index + 3]
                return len(rest) == 2 and rest[0].value == "{" and rest[1].value == "d"
        return False

    def font_name(self, word: str, font: str, token: Token) -> ast.expr:
        if word in ("1", "0") and font in (r"\mathbf", r"\mathbb", r"\boldsymbol", r"\bm"):
            return self.sized("ones" if word == "1" else "zeros", token)
        if word == "I" and "I" not in self.shapes:
            return self.sized("eye", token)
        if not word or not (word[0].isalpha() and all(c.isalnum() for c in word)):
            raise self.fail(f"{font}{{{word}}} is not a name", token)
        named = self.name(word, token)
        if font in BOLD and word[0].islower() and isinstance(named, ast.Name):
            self.bold.setdefault(named.id, token.position)
        return named

    def sized(self, function: str, token: Token) -> ast.expr:
        """𝟏, 0 and I: size inferred, or given as a subscript (𝟏_n, I_3)."""
        if self.at("_"):
            self.take()
            size = "".join(t.value for t in self.script_tokens("_"))
            if size.isdigit():
                return _call(function, [_number(int(size), token.position)], token.position)
            if size.isidentifier():
                return _call(
                    function,
                    [_node(ast.Name, token.position, id=size, ctx=ast.Load())],
                    token.position,
                )
            raise self.fail(f"the size of {function} must be a number or a name", token)
        return _call(function, [], token.position)

    def name(self, base: str, token: Token) -> ast.expr:
        """A variable: the base, a subscript index (W_1 → W1, x_{out} → x_out) and an
        index written as a superscript in parentheses (W^{(2)} → W2)."""
        if base == "I" and "I" not in self.shapes and not self.at("_"):
            return _call("eye", [], token.position)
        if base == "I" and "I" not in self.shapes:
            return self.sized("eye", token)
        if base == "e" and "e" not in self.shapes and self.at("^"):
            self.take()
            exponent = self.sub_reader(self.script_tokens("^"), "exponent").read().body
            return _call("exp", [exponent], token.position)
        name = base
        if self.at("_"):
            self.take()
            index = _index("".join(GREEK.get(t.value, t.value) for t in self.script_tokens("_")))
            if not index or not all(c.isalnum() or c == "_" for c in index):
                raise self.fail(
                    f"the subscript of {base} must be an index (a number or a word)", token
                )
            name = self.declared_as(base, index)
        elif base in GREEK_OF:
            name = self.declared_as(base, "")
        if self.at("^") and self.peek(1).value == "{" and self.peek(2).value in ("(", "["):
            closing = ")" if self.peek(2).value == "(" else "]"
            if self.peek(4).value == closing and self.peek(5).value == "}":
                index = self.peek(3).value
                if index.isalnum():
                    for _ in range(6):
                        self.take()
                    name = name + index
        return _node(ast.Name, token.position, id=name, ctx=ast.Load())

    def declared_as(self, base: str, index: str) -> str:
        """The name W_1, W_{1} and W^{(1)} spell: W1, or W_1 where only that is declared;
        δ, or delta where only that is declared (as mc.latex prints delta)."""
        joined = "" if not index else (index if index.isdigit() else "_" + index)
        spellings = [base + joined, base + "_" + index if index else base]
        if base in GREEK_OF:
            ascii_name = GREEK_OF[base]
            spellings += [ascii_name + joined, ascii_name + "_" + index if index else ascii_name]
        return next((n for n in spellings if n in self.shapes), spellings[0])

    def apply(self, function: str, token: Token) -> ast.expr:
        """f(x), f′(x), f^2(x), and f x (one factor, when nothing else follows)."""
        derivative = False
        if self.at("'"):
            self.take()
            derivative = True
        power: ast.expr | None = None
        if self.at("^"):
            caret = self.take()
            content = self.script_tokens("^")
            if [t.value for t in content] == [r"\prime"]:
                derivative = True
            else:
                if content and content[0].value == "-":
                    raise self.fail(
                        f"{self.text[token.position : caret.position].strip()}^{{-1}} could mean "
                        "the inverse function or 1/f: write 1/f(x), or the inverse by name",
                        caret,
                    )  # fmt: skip
                power = self.sub_reader(content, "exponent").read().body
                power.col_offset = caret.position
        if derivative and self.at("'"):
            raise self.fail("only first derivatives f′ are read")
        if derivative:
            if function not in FUNCTIONS:
                raise self.fail(f"{function}′ is not read; write its derivative out", token)
            self.primes.append(function)
        name = prime_call(function) if derivative else function
        shown = self.text[token.position : self.peek().position].strip()
        if self.at("(", "["):
            opening = self.take()
            self.nested(opening)
            saved, self.bars = self.bars, []
            args = [self.expression()]
            while self.at(","):
                self.take()
                args.append(self.expression())
            self.bars = saved
            closing = OPENING[opening.value]
            self.expect(closing, f"to close the argument of {function}")
            self.depth -= 1
        elif self.at("{"):
            args = [self.sub_reader(self.group_tokens(), "argument").read().body]
        else:
            if self.peek().kind == "end" or not self.starts_factor():
                raise self.fail(f"{function} needs an argument", token)
            args = [self.power()]
            if self.starts_factor():
                raise self.fail(
                    f"write {shown}(…) with parentheses here: the argument could end "
                    "after the first factor or take in the ones that follow",
                    self.peek(),
                )
        wanted = 2 if function in TWO_ARGUMENTS else 1
        if len(args) != wanted:
            raise self.fail(f"{function} takes {wanted} argument(s), got {len(args)}", token)
        called: ast.expr = _call(name, args, token.position)
        if power is not None:
            called = _node(ast.BinOp, token.position, left=called, op=ast.Pow(), right=power)
        return called


def _index(script: str) -> str:
    r"""A subscript as a name's index: \mathrm{out} and {out} are out."""
    return re.sub(r"\\(?:mathrm|text|textrm|mathit|mathbf|rm)|[{}]", "", script)


def default_shapes(
    tree: ast.AST, shapes: Mapping[str, object], bold: Collection[str] = ()
) -> dict[str, object]:
    """Lowercase Greek names other than δ are scalars unless declared (η, λ, α) or
    written bold (𝛉, a vector)."""
    out = dict(shapes)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in out and node.id not in bold:
            if node.id.isascii():
                continue
            head = node.id[0]
            if head.islower() and head not in VECTOR_GREEK:
                out[node.id] = ()
    return out


def _number_to_a_vector(base: E.Expr, exponent: E.Expr) -> bool:
    """2^{\\mathbf{x}}: a number to a vector's powers, (2^x)ᵢ = 2^{xᵢ}, as e^{\\mathbf{x}}.

    Only a number: a^l with a name for a base is Nielsen's layer index (a^l, δ^l),
    which must be refused, not read as a power."""
    return isinstance(base, E.Const) and exponent.is_vector


class LatexBuilder(Builder):
    """The text parser's builder, with what only LaTeX spells: 𝟏, 0 and I of inferred
    size, and the check that ^k of a matrix is not read as a matrix power."""

    def __init__(
        self, text: str, shapes: Mapping[str, object], result: tuple | None = None
    ) -> None:
        super().__init__(text, shapes, None)
        self.arity = {**ARITY, **INFERRED_SIZE}
        self.result = result
        self.collapse_hint = "juxtaposition is the matrix product; ⊙ is the elementwise one."

    def infer(self, tree):
        """Shapes bottom-up; then the result's shape, when the caller knows it (a proof's
        step has its neighbour's shape), fixes what 𝟏, 0 and I left open."""
        shapes = super().infer(tree)
        if self.result is not None:
            root = shapes[id(tree.body)]
            for dim, size in zip((root.rows, root.cols), self.result, strict=True):
                unify(
                    dim, Dim(str(size), size, "the shape it must have"), "the shape", self.text, 0
                )
        return shapes

    def _node(self, node, built, variables) -> E.Expr:
        if isinstance(node, ast.Call) and cast(ast.Name, node.func).id == "inv":
            (argument,) = (built[id(a)] for a in node.args)
            if argument.is_scalar:
                return argument**-1  # a^{-1} of a scalar is 1/a
        made = super()._node(node, built, variables)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exponent = built[id(node.left)], built[id(node.right)]
            if not (exponent.is_scalar or _number_to_a_vector(base, exponent)):
                raise self.fail(
                    "an exponent must be a scalar: a layer index is a subscript, "
                    "\\delta_L or \\delta^{(L)}",
                    node,
                )
            if not (base.is_scalar or base.is_vector or getattr(node, "elementwise", False)):
                raise self.fail(
                    "a power of a matrix: write A A for the matrix power, or A^{\\circ 2} "
                    "for the elementwise one",
                    node,
                )
        bars = getattr(node, "bars", None)
        if bars is not None:
            inner = built[id(node.args[0])]
            if bars == "|" and not (inner.is_scalar or inner.is_vector):
                raise self.fail(
                    "|X| of a matrix: write \\det X for the determinant, or "
                    "\\operatorname{abs}(X) for the entries' absolute values",
                    node,
                )
            if bars == "2" and not inner.is_vector:
                raise self.fail(
                    "‖A‖₂ of a matrix is the spectral norm, which is not read; ‖A‖_F is the "
                    "Frobenius norm",
                    node,
                )
        return made

    def position_of(self, name: str) -> int:
        found = re.search(re.escape(name), self.text)
        return found.start() if found else 0


def read_latex(
    text: str, shapes: Mapping[str, object] | None = None, result: tuple | None = None
) -> E.Expr:
    """The expression a LaTeX formula spells (see the module's docstring); result, when
    given, is the shape it must have."""
    return read_latex_with_primes(text, shapes, result)[0]


def read_latex_with_primes(
    text: str, shapes: Mapping[str, object] | None = None, result: tuple | None = None
) -> tuple[E.Expr, list[str]]:
    """The expression, and the functions whose derivative was written f′ (a proof names
    σ′ = σ(1 − σ) where one step writes σ′ and the next spells it out)."""
    text = _screen(text)
    reader = LatexReader(text, dict(shapes or {}))
    tree = reader.read()
    builder = LatexBuilder(text, default_shapes(tree, shapes or {}, reader.bold), result)
    for name, position in reader.bold.items():
        declared = (shapes or {}).get(name)
        if declared is None:
            builder.kinds[name] = "vector"
        elif declared in ((), "", "scalar"):
            raise ParseError(
                f"parse: {name} is written bold, as a vector, but it is declared a scalar; "
                "declare its shape (b=m) or write it plain",
                text,
                position,
            )
    builder.check(tree)
    builder.infer(tree)
    return builder.build(tree), reader.primes
