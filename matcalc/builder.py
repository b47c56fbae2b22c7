"""Whitelisted Python ``ast`` to an expression, shapes inferred by unification.

Both readers end here: the text parser (``parse``: numpy-like and MATLAB-like
text, through ``ast.parse``) and the LaTeX reader (``latex_reader``, which
makes the same nodes by recursive descent).  ``Builder.check`` refuses every
node type and call outside the whitelist; ``infer`` gives each node a shape,
unifying dimensions across the formula (MatrixCalculus.org's convention for
undeclared names: a–g scalars, other lowercase vectors, capitals matrices);
``build`` makes the expression.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import sympy

from . import constructors as C
from . import expr as E
from . import simplifier
from .dims import MAX_SIZE, as_dim
from .errors import ParseError, ShapeError
from .functions import CATALOGUE, FUNCTIONS

MAX_LENGTH = 10_000  # characters in one formula
MAX_TOWER = 20  # x**y**z…: powers nested in an exponent
MAX_MATRIX_POWER = 32  # A^k in MATLAB syntax is k − 1 matrix products


def screen(text: object, refused: Mapping[str, str]) -> str:
    """The text, if it can be a formula: a string, at most MAX_LENGTH characters, ASCII
    without NUL, none of the characters refused (each with the reason to give)."""
    if not isinstance(text, str):
        raise ParseError(f"parse: expected text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"parse: the formula is {len(text)} characters long; at most {MAX_LENGTH}")
    for position, char in enumerate(text):
        if char == "\0":
            raise ParseError("parse: a NUL byte is not allowed", text, position)
        if ord(char) > 127:
            raise ParseError(f"parse: only ASCII is allowed, not {char!r}", text, position)
        if char in refused:
            raise ParseError(f"parse: {refused[char]}", text, position)
    if not text.strip():
        raise ParseError("parse: the formula is empty", text, 0)
    return text


# An ast node the validator has accepted: its type is one of the whitelisted ones,
# with the fields that type has (a call's func is a Name, a size is a Name or int).
Checked = Any

PROPERTIES = ("symmetric", "probability")  # words a declaration may add to its sizes
# the tokens of binary operators, as typed (brackets and commas are not)
BINARY = {"+", "-", "*", "/", "^", "**", "@", ".*", "./", ".^"}
# Python constructs a formula cannot have, in the user's words
NODE_WORDS = {
    "Subscript": "indexing x[…] is not read: formulas work with whole vectors and matrices",
    "List": "a [ ] list is not a formula", "Tuple": "a formula is one expression, not a tuple",
    "Compare": "a comparison (==, <) is not a formula",
    "BoolOp": "and / or are not operators in a formula",
    "IfExp": "if … else is not read in a formula",
}  # fmt: skip
# names a user may mean as constants: π is one; inf and nan are not finite
CONSTANTS = {"pi": sympy.pi}
NOT_FINITE = {"inf", "Inf", "nan", "NaN", "infinity"}
# functions other tools have, and what to write here
OTHER_FUNCTIONS = {
    "max": "maximum(a, b) is the elementwise maximum; the largest entry is not differentiable",
    "min": "-maximum(-a, -b) is the elementwise minimum",
    "mean": "write sum(x)/n (with n the length of x)",
    "transpose": "write x' (MATLAB syntax) or x.T (numpy syntax)",
    "log1p": "write log(1 + x)",
    "expm": "the matrix exponential is not read; exp(A) is elementwise",
    "matmul": "write A@B (numpy syntax) or A*B (MATLAB syntax)",
    "multiply": "write a*b (numpy syntax) or a.*b (MATLAB syntax)",
}  # fmt: skip
MAX_NUMBER = 1e300


# The calls the parser reads.  Every catalogue function, by its name and its
# aliases (its shape is its argument's); then the matrix operations, whose
# shapes ``_call_shape`` knows.
CALLS: dict[str, Callable[..., E.Expr]] = {
    name: getattr(C, entry.name) for entry in CATALOGUE for name in (entry.name, *entry.aliases)
}
CALLS.update({
    "maximum": C.maximum, "sum": C.sum, "trace": C.trace, "tr": C.trace, "det": C.det,
    "logdet": C.logdet, "inv": C.inv, "diag": C.diag, "norm": C.norm, "norm2": C.norm,
    "dot": C.dot, "outer": C.outer, "softmax": C.softmax, "logsumexp": C.logsumexp,
    "ones": C.ones, "zeros": C.zeros, "eye": C.eye,
})  # fmt: skip
CALLS.update({"diagpart": lambda a: E.DiagPart.make(a)})


# MatrixCalculus.org's vector(c) and matrix(c), every entry c, their size inferred;
# norm1(x) = Σᵢ |xᵢ| (entrywise for a matrix)
def _filled(c: E.Expr, ones: E.Expr) -> E.Expr:
    return ones if isinstance(c, E.Const) and c.value == 1 else c * ones


CALLS.update({
    "vector": lambda c, n: _filled(c, C.ones(n)),
    "matrix": lambda c, m, n: _filled(c, C.ones(m, n)),
    "norm1": lambda a: C.sum(C.abs(a)),
})  # fmt: skip
FILLED = {"vector", "matrix"}


def prime_call(function: str) -> str:
    """The call name of f′ (not an identifier: only the LaTeX reader spells it, σ′(z))."""
    return function + "'"


def _derivative_of(name: str) -> Callable[[E.Expr], E.Expr]:
    entry = FUNCTIONS[name]

    def derivative(z: E.Expr) -> E.Expr:  # f′(z), from the catalogue's rule
        if entry.derivative is None:
            return C.zeros(*z.shape) if not z.is_scalar else E.as_expr(0)
        return entry.derivative(simplifier, z, getattr(C, name)(z))

    return derivative


CALLS.update({prime_call(entry.name): _derivative_of(entry.name) for entry in CATALOGUE})
ARITY = {"maximum": 2, "dot": 2, "outer": 2, "ones": (1, 2), "zeros": (1, 2), "sum": (1, 2)}
# 𝟏, 0 and I with no size are read only from LaTeX; their size is inferred
INFERRED_SIZE = {"ones": (0, 1, 2), "zeros": (0, 1, 2), "eye": (0, 1)}
SIZE_FUNCTIONS = {"ones", "zeros", "eye"}  # their arguments are sizes, not expressions


def checked_shape(name: str, spec: str) -> str:
    """A shape as the command line and the web page declare it ("m,n", "n", "scalar",
    "n,n,symmetric", "n,probability"), as the parser reads it; ParseError if it is
    none of those."""
    parts = [part.strip() for part in spec.split(",")]
    words = [part for part in parts if part in PROPERTIES]
    sized = [part for part in parts if part not in PROPERTIES]
    if sized == ["scalar"]:
        if words:
            raise ParseError(f"{name} is a scalar: it is neither symmetric nor a probability")
        return "scalar"
    if not name.isidentifier() or not 1 <= len(sized) <= 2 or "" in sized or "scalar" in sized:
        raise ParseError(
            f"the shape of {name} takes one or two sizes (m,n or n, then symmetric or "
            f"probability if it is), or scalar; got {spec!r}"
        )
    return spec


def _constant_value(e: E.Expr) -> sympy.Expr | None:
    """The number e is, when it is a constant or a negated one (−1 parses as −(1))."""
    if isinstance(e, E.Const):
        return e.value
    if isinstance(e, E.Neg) and isinstance(e.args[0], E.Const):
        return -e.args[0].value
    return None


def _zero_constant(e: E.Expr) -> bool:
    """Whether e is a constant that is zero (0, 1 − 1, 2·0, …): a divisor never to take."""
    if isinstance(e, E.Const):
        return bool(e.value == 0)
    return not E.variables(e) and simplifier.is_zero(simplifier.simplify(e))


def _suggestion(name: str) -> str:
    """What the user may have meant by an unknown function."""
    if name in OTHER_FUNCTIONS:
        return f": {OTHER_FUNCTIONS[name]}"
    close = difflib.get_close_matches(name.lower(), [c for c in CALLS if c.isidentifier()], 1)
    close = close or [c for c in CALLS if c.isidentifier() and c.lower() == name.lower()]
    return f"; did you mean {close[0]}?" if close else ""


INNER_PRODUCT = " For the inner product of two vectors write x.T@y (x'*y) or dot(x, y)."


def _fixed_by(dim: Dim) -> tuple[str, int] | None:
    """The operation that gave dim (or a dimension it was unified with) its size."""
    node = dim
    while True:
        if node.fixed_by is not None:
            return node.fixed_by
        if node.parent is node:
            return None
        node = node.parent


def matrix_power(a: E.Expr, k: int) -> E.Expr:
    """MATLAB's A^k: I for k = 0, A A ⋯ A (k factors) for k > 0, inv(A)^|k| for k < 0."""
    if k == 0:
        return C.eye(a.shape[0])
    factor = a if k > 0 else C.inv(a)
    product = factor
    for _ in range(abs(k) - 1):
        product = product @ factor
    return product


def convention(name: str, kind: str) -> str:
    """Why an undeclared name has its kind: MatrixCalculus.org's first-letter rule."""
    why = {
        "scalar": "starts with a lower-case letter from a to g",
        "vector": "starts with a lower-case letter from h to z",
        "matrix": "starts with a capital letter",
    }[kind]
    return f"{name} is a {kind} because it {why}"


# -- a typed tree with shape variables ----------
class Dim:
    """A dimension being inferred: a union-find node, with a size once known."""

    def __init__(self, label: str, value: object = None, use: str = "") -> None:
        self.parent: Dim = self
        self.label, self.value, self.use = label, value, use
        self.fixed_by: tuple[str, int] | None = None  # the operation that gave it a size

    def find(self) -> Dim:
        node = self
        while node.parent is not node:
            node.parent = node.parent.parent
            node = node.parent
        return node


def unify(a: Dim, b: Dim, why: str, text: str, position: int) -> None:
    ra, rb = a.find(), b.find()
    if ra is rb:
        return
    if ra.value is not None and rb.value is not None and ra.value != rb.value:
        error = ShapeError(
            f"{why}: a dimension is {ra.value} ({ra.use}) but {rb.value} ({rb.use}) — "
            f"at position {position} of {text!r}"
        )
        error.position = position  # type: ignore[attr-defined]  # for a proof's caret
        raise error
    if ra.value is None:
        ra, rb = rb, ra
    rb.parent = ra  # keep the root that has a known size
    if ra.value is not None and rb.value is None:
        rb.fixed_by = (why, position)


@dataclass
class Shaped:
    rows: Dim
    cols: Dim
    node: ast.AST


class Builder:
    """ast → matcalc expression: checks the whitelist, infers shapes, then builds."""

    def __init__(
        self,
        text: str,
        shapes: Mapping[str, object] | None,
        where: list[int] | None,
        *,
        reading: str = "numpy",
        operators: Mapping[int, str] | None = None,
    ) -> None:
        self.text, self.where = text, where
        # "numpy", "matlab" or "casual" (numpy with ^ for **); operators: each operator's
        # token as the user typed it, by its offset in the Python text (^ or .^, / or ./)
        self.reading, self.operators = reading, dict(operators or {})
        self.matrix_powers: dict[int, int] = {}  # node id → k, for MATLAB's A^k
        self.right_divisions: set[int] = set()  # node ids of MATLAB's A/B = A inv(B)
        # where the numpy and MATLAB readings part: (position, operator), and the
        # products of a matrix and a vector that only broadcasting makes elementwise
        self.points: list[tuple[int, str]] = []
        self.broadcasts: list[int] = []
        self.declared = dict(shapes or {})
        self.variables: dict[str, tuple[Dim, Dim, str]] = {}
        self.properties: dict[str, set[str]] = {}  # "symmetric", "probability" by name
        self.unit = Dim("1", 1, "a scalar")
        self.inferred: dict[int, Dim] = {}  # the size of 𝟏, 0 or I written without one
        self.inferred_columns: dict[int, Dim] = {}  # and the columns of matrix(c)
        self.arity = ARITY
        self.kinds: dict[str, str] = {}  # the kind of an undeclared name, when the text says
        self.collapse_hint = ""  # what a reader adds when a name's size collapses to 1

    def pos(self, node: ast.AST) -> int:
        return self.pos_of_offset(getattr(node, "col_offset", 0) or 0)

    def pos_of_offset(self, offset: int) -> int:
        """The position in the user's text of an offset in the Python text."""
        if self.where is not None:
            return self.where[min(offset, len(self.where) - 1)] if self.where else 0
        return offset

    def fail(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(f"parse: {message}", self.text, self.pos(node))

    # -- the whitelist walk (iterative: long chains must not recurse) -----------------------------
    def check(self, tree: ast.AST) -> None:
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Expression):
                stack.append(node.body)
            elif isinstance(node, ast.BinOp):
                if not isinstance(
                    node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow | ast.MatMult
                ):
                    raise self.fail(f"the operator {type(node.op).__name__} is not allowed", node)
                if isinstance(node.op, ast.Pow):
                    self._check_exponent(node.right)
                    if isinstance(node.right, ast.Name) and node.right.id in ("T", "H"):
                        if node.right.id not in self.declared:
                            raise self.fail(
                                "^T is not a transpose in text: write x' (MATLAB syntax) or "
                                "x.T (numpy syntax); ^T would raise to a matrix named T",
                                node.right,
                            )
                stack += [node.left, node.right]
            elif isinstance(node, ast.UnaryOp):
                if not isinstance(node.op, ast.USub | ast.UAdd):
                    raise self.fail(f"the operator {type(node.op).__name__} is not allowed", node)
                stack.append(node.operand)
            elif isinstance(node, ast.Call):
                self._check_call(node)
                stack += [a for a in node.args if not self._size_call(node)]
            elif isinstance(node, ast.Attribute):
                if node.attr != "T":
                    raise self.fail(f"only .T may follow an operand, not .{node.attr}", node)
                stack.append(node.value)
            elif isinstance(node, ast.Name):
                self._check_name(node)
            elif isinstance(node, ast.Constant):
                self._check_number(node)
            else:
                kind = type(node).__name__
                raise self.fail(NODE_WORDS.get(kind, f"{kind} is not allowed in a formula"), node)

    def _check_exponent(self, exponent: ast.AST) -> None:
        """Constant exponents stay small: 2**10**10 is refused, never computed."""

        def magnitude(node: ast.AST, depth: int = 0) -> float | None:  # log10 |value|
            if depth > MAX_TOWER:
                raise self.fail(f"powers are nested too deeply (at most {MAX_TOWER})", exponent)
            if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
                return math.log10(abs(node.value)) if node.value else -math.inf
            if isinstance(node, ast.UnaryOp):
                return magnitude(node.operand, depth + 1)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                base, power = magnitude(node.left, depth + 1), magnitude(node.right, depth + 1)
                if base is None or power is None:
                    return None
                return base * 10 ** min(power, 6) if power > 0 else base
            return None

        size = magnitude(exponent)
        if size is not None and size > 3:
            raise self.fail("the exponent is too large (at most 1000)", exponent)

    def _size_call(self, node: ast.Call) -> bool:
        return isinstance(node.func, ast.Name) and node.func.id in SIZE_FUNCTIONS

    def _check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only a function name may be called", node)
        name = node.func.id
        if name not in CALLS:
            raise self.fail(f"unknown function {name!r}{_suggestion(name)}", node)
        arity = self.arity.get(name, 1)
        allowed = arity if isinstance(arity, tuple) else (arity,)
        keywords = [k for k in node.keywords if k.arg == "axis" and name == "sum"]
        if len(keywords) != len(node.keywords):
            raise self.fail(f"{name} takes no such keyword", node)
        if len(node.args) + len(keywords) not in allowed or any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            raise self.fail(f"{name} takes {' or '.join(map(str, allowed))} argument(s)", node)
        for k in keywords:
            if not (isinstance(k.value, ast.Constant) and k.value.value in (0, 1)):
                raise self.fail("axis must be 0 or 1", k.value)
        if name == "sum" and len(node.args) == 2:
            allowed_axes = (1, 2) if self.reading == "matlab" else (0, 1)
            if not (isinstance(node.args[1], ast.Constant) and node.args[1].value in allowed_axes):
                raise self.fail(
                    "in MATLAB syntax sum(X, 1) sums each column and sum(X, 2) each row"
                    if self.reading == "matlab"
                    else "axis must be 0 or 1",
                    node.args[1],
                )
        if name in FILLED:
            value = node.args[0]
            if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub | ast.UAdd):
                value = value.operand
            if not (isinstance(value, ast.Constant) and type(value.value) in (int, float)):
                raise self.fail(f"{name}(c) takes a number: every entry is c", node)
        if self._size_call(node):
            for a in node.args:
                ok = (
                    isinstance(a, ast.Name) and a.id.isidentifier() and not a.id.startswith("_")
                ) or (isinstance(a, ast.Constant) and type(a.value) is int and 0 < a.value <= 10**6)
                if not ok:
                    raise self.fail(f"the size of {name} must be a positive integer or a name", a)

    def _check_name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise self.fail(f"the name {node.id!r} is not allowed", node)
        if node.id in NOT_FINITE and node.id not in self.declared:
            raise self.fail(f"{node.id} is not a finite number; a formula's constants are", node)
        if node.id in CALLS:
            raise self.fail(f"{node.id} is a function; call it: {node.id}(...)", node)

    def _constant(self, name: str) -> bool:
        """pi is π unless declared as a variable."""
        return name in CONSTANTS and name not in self.declared

    def _check_number(self, node: ast.Constant) -> None:
        value = node.value
        if type(value) not in (int, float) or not isinstance(value, int | float):
            raise self.fail(f"{type(value).__name__} constants are not allowed", node)
        if abs(value) > MAX_NUMBER:
            raise self.fail("the number is too large", node)

    # -- shapes ----------
    def declared_shape(self, name: str) -> tuple[Dim, Dim, str]:
        spec = self.declared[name]
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = (spec,)  # {"x": 3}: a vector of length 3
        if isinstance(spec, str):
            spec = () if spec.strip() in ("", "scalar") else tuple(spec.split(","))
        if isinstance(spec, tuple | list):  # n,n,symmetric and m,1,probability
            words = [p for p in spec if isinstance(p, str) and p.strip() in PROPERTIES]
            self.properties[name] = {p.strip() for p in words}
            spec = tuple(p for p in spec if p not in words)
        if not isinstance(spec, tuple | list) or len(spec) > 2:
            raise ShapeError(
                f"parse: the shape of {name} must be (), (n,), or (m, n); got {spec!r}"
            )
        sizes: list[Dim] = []
        for size in spec:
            size = size.strip() if isinstance(size, str) else size
            if isinstance(size, str) and size.isascii() and size.isdecimal():
                if len(size) > 18:
                    raise ShapeError(f"parse: the shape of {name}: a size is at most {MAX_SIZE}")
                size = int(size)
            dim = as_dim(size, f"the shape of {name}")
            part = ("rows", "columns")[len(sizes)]
            sizes.append(Dim(str(dim), dim, f"the declared {part} of {name}"))
        if len(sizes) == 0:
            return self.unit, self.unit, "scalar"
        if len(sizes) == 1 or (len(sizes) == 2 and sizes[1].value == 1):
            return sizes[0], self.unit, "vector"
        return sizes[0], sizes[1], "matrix"

    def variable(self, name: str) -> tuple[Dim, Dim, str]:
        if name not in self.variables:
            if name in self.declared:
                self.variables[name] = self.declared_shape(name)
            elif self.kinds.get(name) == "vector":  # written bold in LaTeX: b is a vector
                self.variables[name] = (
                    Dim(f"rows of {name}", use=f"rows of {name}"),
                    self.unit,
                    "vector",
                )
            elif name[0] in "abcdefg":
                self.variables[name] = (self.unit, self.unit, "scalar")
            elif name[0].islower():
                self.variables[name] = (
                    Dim(f"rows of {name}", use=f"rows of {name}"),
                    self.unit,
                    "vector",
                )
            else:
                self.variables[name] = (
                    Dim(f"rows of {name}", use=f"rows of {name}"),
                    Dim(f"columns of {name}", use=f"columns of {name}"),
                    "matrix",
                )
        return self.variables[name]

    def size_dim(self, node: Checked) -> Dim:
        if isinstance(node, ast.Constant):
            size = cast(int, node.value)  # the validator allows only ints here
            return Dim(str(size), size, f"size {size}")
        return Dim(node.id, sympy.Symbol(node.id, integer=True, positive=True), f"size {node.id}")

    def postorder(self, tree: Checked) -> list[Checked]:
        """The formula's nodes, children first, without recursion (long chains are deep)."""
        order: list[Checked] = []
        stack: list[tuple[Checked, bool]] = [(tree.body, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            stack.append((node, True))
            stack.extend((child, False) for child in self._children(node))
        return order

    def infer(self, tree: Checked) -> dict[int, Shaped]:
        """Shapes of every node, bottom-up, unifying dimensions (iteratively)."""
        shapes: dict[int, Shaped] = {}
        for node in self.postorder(tree):
            shapes[id(node)] = self._shape(node, shapes)
        return shapes

    def _children(self, node: Checked) -> list[Checked]:
        if isinstance(node, ast.BinOp):
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            return [node.operand]
        if isinstance(node, ast.Attribute):
            return [node.value]
        if isinstance(node, ast.Call) and not self._size_call(node):
            function = cast(ast.Name, node.func)  # the validator allows only names
            return list(node.args[:1] if function.id == "sum" else node.args)
        return []

    def _scalar(self, s: Shaped) -> bool:
        return s.rows.find() is self.unit.find() and s.cols.find() is self.unit.find()

    def _is_one(self, d: Dim) -> bool:
        return d.find().value == 1

    def _shape(self, node: Checked, shapes: dict[int, Shaped]) -> Shaped:
        def of(child: Checked) -> Shaped:
            return shapes[id(child)]

        here = self.pos(node)
        if isinstance(node, ast.Constant):
            return Shaped(self.unit, self.unit, node)
        if isinstance(node, ast.Name) and self._constant(node.id):
            return Shaped(self.unit, self.unit, node)
        if isinstance(node, ast.Name):
            rows, cols, _ = self.variable(node.id)
            return Shaped(rows, cols, node)
        if isinstance(node, ast.UnaryOp):
            s = of(node.operand)
            return Shaped(s.rows, s.cols, node)
        if isinstance(node, ast.Attribute):
            s = of(node.value)
            return Shaped(s.cols, s.rows, node)
        if isinstance(node, ast.BinOp):
            a, b = of(node.left), of(node.right)
            if self.operators:  # a typed operator: point at it, not at the left operand
                here = self._operator_position(node)
            if isinstance(node.op, ast.MatMult):
                if self._scalar(a):
                    return Shaped(b.rows, b.cols, node)
                if self._scalar(b):
                    return Shaped(a.rows, a.cols, node)
                unify(a.cols, b.rows, "matmul", self.text, here)
                return Shaped(a.rows, b.cols, node)
            if self.reading == "matlab":
                matlab = self._matlab_shape(node, a, b, here)
                if matlab is not None:
                    return matlab
            return self._broadcast(a, b, node, here)
        if isinstance(node, ast.Call):
            return self._call_shape(node, of, here)
        raise self.fail(f"{type(node).__name__} is not allowed", node)  # pragma: no cover

    def operator(self, node: ast.BinOp) -> str | None:
        """The operator of node as the user typed it (None when the text was not typed:
        LaTeX): the first binary operator between the operands in the Python text, past
        the brackets that close the left one ((A+B)^2: the ^, not the ))."""
        found = self._operator_token(node)
        return found[1] if found else None

    def _operator_token(self, node: Checked) -> tuple[int, str] | None:
        start = getattr(node.left, "end_col_offset", None)
        end = getattr(node.right, "col_offset", None)
        if start is None or end is None:
            return None
        return next(
            ((k, t) for k, t in sorted(self.operators.items()) if start <= k < end and t in BINARY),
            None,
        )

    def _is_matrix(self, s: Shaped) -> bool:
        unit = self.unit.find()
        return s.rows.find() is not unit and s.cols.find() is not unit

    def _matlab_shape(self, node: Checked, a: Shaped, b: Shaped, here: int) -> Shaped | None:
        """MATLAB's A^k (the matrix power of a square A, integer k; A^-1 is inv(A)) and
        A/B (right division A·B⁻¹ by a square B); None for the elementwise cases."""
        typed = self.operator(node)
        if isinstance(node.op, ast.Pow) and typed == "^" and self._is_matrix(a):
            self.matrix_powers[id(node)] = self._integer_exponent(node)
            unify(a.rows, a.cols, "the matrix power A^k (A must be square)", self.text, here)
            return Shaped(a.rows, a.rows, node)
        if isinstance(node.op, ast.Div) and typed == "/" and not self._scalar(b):
            if not self._is_matrix(b) or self._scalar(a):
                raise ParseError(
                    "parse: in MATLAB syntax / divides by a scalar, or A/B is A·inv(B) for a "
                    "square matrix B; write ./ for the elementwise quotient",
                    self.text,
                    self._operator_position(node),
                )
            self.right_divisions.add(id(node))
            unify(b.rows, b.cols, "right division A/B (B must be square)", self.text, here)
            unify(a.cols, b.rows, "right division A/B = A inv(B)", self.text, here)
            return Shaped(a.rows, b.cols, node)
        return None

    def _integer_exponent(self, node: Checked) -> int:
        exponent, sign = node.right, 1
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub | ast.UAdd):
            sign = -1 if isinstance(exponent.op, ast.USub) else 1
            exponent = exponent.operand
        value = exponent.value if isinstance(exponent, ast.Constant) else None
        if not (isinstance(value, int | float) and float(value).is_integer()):
            error = self.fail(
                "A^k of a matrix is the matrix power, and k must be an integer; "
                "write A.^k for the elementwise power",
                node,
            )
            error.exponent = True  # type: ignore[attr-defined]  # the auto reader asks
            raise error
        if abs(value) > MAX_MATRIX_POWER:
            raise self.fail(f"a matrix power is at most A^{MAX_MATRIX_POWER}", node)
        return sign * int(value)

    def _broadcast(self, a: Shaped, b: Shaped, node: Checked, here: int) -> Shaped:
        if self._scalar(a):
            return Shaped(b.rows, b.cols, node)
        if self._scalar(b):
            return Shaped(a.rows, a.cols, node)
        dims = []
        for x, y in ((a.rows, b.rows), (a.cols, b.cols)):
            if self._is_one(x):
                dims.append(y)
            elif self._is_one(y):
                dims.append(x)
            else:
                unify(x, y, "elementwise operation", self.text, here)
                dims.append(x)
        return Shaped(dims[0], dims[1], node)

    def _call_shape(self, node: Checked, of, here: int) -> Shaped:
        name = node.func.id
        if name in SIZE_FUNCTIONS and not node.args or name in FILLED:
            rows = Dim(f"size of {name}", use=f"the size of {name}")
            self.inferred[id(node)] = rows
            if name == "matrix":
                cols = Dim(f"columns of {name}", use=f"the columns of {name}")
                self.inferred_columns[id(node)] = cols
                return Shaped(rows, cols, node)
            return Shaped(rows, rows if name == "eye" else self.unit, node)
        if name in SIZE_FUNCTIONS:
            rows = self.size_dim(node.args[0])
            cols = (
                rows
                if name == "eye"
                else (self.size_dim(node.args[1]) if len(node.args) > 1 else self.unit)
            )
            return Shaped(rows, cols, node)
        args = [of(a) for a in self._children(node)]
        if name in ("trace", "tr", "det", "logdet"):
            unify(args[0].rows, args[0].cols, name, self.text, here)
            return Shaped(self.unit, self.unit, node)
        if name == "inv":
            unify(args[0].rows, args[0].cols, name, self.text, here)
            return Shaped(args[0].rows, args[0].rows, node)
        if name == "diagpart":
            unify(args[0].rows, args[0].cols, name, self.text, here)
            return Shaped(args[0].rows, self.unit, node)
        if name == "diag":
            a = args[0]
            if self._is_one(a.cols):
                return Shaped(a.rows, a.rows, node)
            unify(a.rows, a.cols, name, self.text, here)
            return Shaped(a.rows, self.unit, node)
        if name in ("norm", "norm2", "norm1"):
            return Shaped(self.unit, self.unit, node)
        if name == "sum":
            axis = self._axis(node)
            a = args[0]
            if axis is None:
                return Shaped(self.unit, self.unit, node)
            return Shaped(self.unit, a.cols, node) if axis == 0 else Shaped(a.rows, self.unit, node)
        if name == "dot":
            unify(args[0].rows, args[1].rows, "dot", self.text, here)
            return Shaped(self.unit, self.unit, node)
        if name == "outer":
            return Shaped(args[0].rows, args[1].rows, node)
        if name == "logsumexp":
            return Shaped(self.unit, args[0].cols, node)
        if name == "maximum":
            return self._broadcast(args[0], args[1], node, here)
        a = args[0]
        return Shaped(a.rows, a.cols, node)

    def _axis(self, node: Checked) -> int | None:
        """numpy's axis: sum(X, axis=0) sums each column.  MATLAB counts dimensions
        from 1: its sum(X, 1) is numpy's axis 0."""
        for k in node.keywords:
            return int(k.value.value)
        if len(node.args) == 2:
            return int(node.args[1].value) - (1 if self.reading == "matlab" else 0)
        return None

    # -- building ----------
    def names_for_dims(self) -> dict[int, object]:
        """A size for every dimension class: its known size, or a fresh name n, m, p, …"""
        taken = set(self.variables) | {
            str(d.find().value) for rows, cols, _ in self.variables.values() for d in (rows, cols)
        }
        pool = itertools.chain(  # letters first, then as many d1, d2, … as it takes
            (c for c in "nmpqkrstuvw" if c not in taken),
            (f"d{i}" for i in itertools.count(1) if f"d{i}" not in taken),
        )
        chosen: dict[int, object] = {}

        # vectors first, so W x names x's length n and W is (m, n), as textbooks write it
        def first_use(name: str) -> int:
            found = re.search(rf"\b{re.escape(name)}\b", self.text)
            return found.start() if found else len(self.text)

        names = sorted(
            self.variables, key=lambda v: (self.variables[v][2] != "vector", first_use(v))
        )
        for rows, cols, _ in (self.variables[name] for name in names):
            for d in (rows, cols):
                root = d.find()
                if id(root) in chosen:
                    continue
                if root.value is not None:
                    chosen[id(root)] = root.value
                else:
                    chosen[id(root)] = sympy.Symbol(next(pool), integer=True, positive=True)
        return chosen

    def build(self, tree: Checked) -> E.Expr:
        self._refuse_collapsed()
        sizes = self.names_for_dims()

        def size(d: Dim) -> object:
            root = d.find()
            return sizes.get(id(root), root.value if root.value is not None else 1)

        variables: dict[str, E.Expr] = {}
        for name, (rows, cols, kind) in self.variables.items():
            known = self.properties.get(name, set())
            if kind == "scalar" and known:
                raise ShapeError(f"parse: {name} is a scalar; it cannot be {' or '.join(known)}")
            if kind == "scalar":
                variables[name] = C.scalar(name)
            elif kind == "vector" and "symmetric" not in known:
                variables[name] = C.vector(name, size(rows), probability="probability" in known)
            else:
                flags = {p: p in known for p in PROPERTIES}
                variables[name] = C.matrix(name, size(rows), size(cols), **flags)
        for inferred in (self.inferred, self.inferred_columns):
            for node_id, dim in inferred.items():
                root = dim.find()
                if root.value is None and id(root) not in sizes:
                    position = next(self.pos(n) for n in self.postorder(tree) if id(n) == node_id)
                    raise ParseError(
                        "parse: nothing in the formula fixes the size of this 𝟏, 0, I, vector "
                        "or matrix; give it: ones(n), eye(n) (\\mathbf{1}_n, I_n in LaTeX)",
                        self.text,
                        position,
                    )
                inferred[node_id] = size(dim)  # type: ignore[assignment]
        built: dict[int, E.Expr] = {}
        for node in self.postorder(tree):
            try:
                built[id(node)] = self._node(node, built, variables)
            except ShapeError as error:
                located = ShapeError(f"{error} — at position {self.pos(node)} of {self.text!r}")
                located.position = self.pos(node)  # type: ignore[attr-defined]
                raise located from None
        return built[id(tree.body)]

    def _note_point(self, node: Checked, a: E.Expr, b: E.Expr) -> None:
        """Where MATLAB would read this operation otherwise: * of two non-scalars, / by a
        matrix, ^ of a matrix; and * or / that only broadcasting makes fit."""
        typed = self.operator(node)
        here = self.pos(node)
        if typed in ("*", "/") and not a.is_scalar and not b.is_scalar and a.shape != b.shape:
            self.broadcasts.append(here)
        elif typed == "*" and not a.is_scalar and not b.is_scalar:
            self.points.append((self._operator_position(node), "*"))
        elif typed == "/" and not b.is_scalar and not b.is_vector:
            self.points.append((self._operator_position(node), "/"))
        elif typed == "^" and not a.is_scalar and not a.is_vector:
            self.points.append((self._operator_position(node), "^"))

    def _operator_position(self, node: Checked) -> int:
        found = self._operator_token(node)
        return self.pos_of_offset(found[0] if found else node.left.end_col_offset)

    def _refuse_collapsed(self) -> None:
        """A name whose size the formula set to 1 by itself (x@y read as a product of two
        vectors) is refused: that reading is surely not what was meant."""
        for name, (rows, cols, kind) in self.variables.items():
            if name in self.declared or kind == "scalar":
                continue
            collapsed = [d for d in (rows, cols) if d is not self.unit and d.find().value == 1]
            if collapsed and collapsed[0].find() is self.unit.find():
                why, where = _fixed_by(collapsed[0]) or ("the products", self.position_of(name))
                hint = INNER_PRODUCT if why == "matmul" else ""
                raise ParseError(
                    f"parse: {name} would have to be a {kind} of size 1 for {why} to fit "
                    f"({self.collapse_hint or convention(name, kind) + '.'}){hint} Declare its "
                    f"shape if size 1 is meant (shapes={{{name!r}: ...}}, --shape on the "
                    "command line)",
                    self.text,
                    where,
                )

    def position_of(self, name: str) -> int:
        found = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", self.text)
        return found.start() if found else 0

    def _node(self, node: Checked, built: dict[int, E.Expr], variables) -> E.Expr:
        if isinstance(node, ast.Constant):
            return E.as_expr(node.value)
        if isinstance(node, ast.Name) and self._constant(node.id):
            return E.Const.make(CONSTANTS[node.id])
        if isinstance(node, ast.Name):
            return variables[node.id]
        if isinstance(node, ast.UnaryOp):
            inner = built[id(node.operand)]
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.Attribute):
            return built[id(node.value)].T
        if isinstance(node, ast.BinOp):
            a, b = built[id(node.left)], built[id(node.right)]
            if id(node) in self.matrix_powers:
                return matrix_power(a, self.matrix_powers[id(node)])
            if id(node) in self.right_divisions:
                return a @ C.inv(b)
            if self.reading == "casual":
                self._note_point(node, a, b)
            zero_power = (
                isinstance(node.op, ast.Pow)
                and isinstance(a, E.Const)
                and a.value == 0
                and (_constant_value(b) or 0) < 0
            )
            if zero_power:
                raise self.fail("0 to a negative power: division by zero", node)
            if isinstance(node.op, ast.Div) and _zero_constant(b):
                raise ParseError(
                    "parse: division by zero", self.text, self._operator_position(node)
                )
            op = type(node.op)
            return {
                ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                ast.Div: lambda: a / b, ast.Pow: lambda: a**b, ast.MatMult: lambda: a @ b,
            }[op]()  # fmt: skip
        name = node.func.id
        if name in SIZE_FUNCTIONS and not node.args:
            return CALLS[name](self.inferred[id(node)])
        if name in SIZE_FUNCTIONS:
            sizes = [a.value if isinstance(a, ast.Constant) else a.id for a in node.args]
            return CALLS[name](*sizes)
        args = [built[id(a)] for a in self._children(node)]
        if name == "exp" and isinstance(args[0], E.Const):  # exp(1) is e (numpy's np.e)
            return E.Const.make(sympy.exp(args[0].value))
        if name == "sum" and self.reading == "casual" and len(node.args) == 2:
            if self._axis(node) == 1 and not args[0].is_scalar and not args[0].is_vector:
                self.points.append((self.pos(node.args[1]), "sum(X, 1)"))
        if name in FILLED:
            sizes = [self.inferred[id(node)], self.inferred_columns.get(id(node))]
            return CALLS[name](*args, *sizes[: 1 if name == "vector" else 2])
        if name == "sum":
            return C.sum(args[0], axis=self._axis(node))
        return CALLS[name](*args)
