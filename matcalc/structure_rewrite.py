"""Structured matrices kept structured in generated code: an expression-to-expression
rewrite made before lowering, so that ``mc.compile`` never builds a dense diag(v), I,
𝟏𝟏ᵀ, outer product or softmax Jacobian unless the result itself is that matrix.

It is the evaluator's D + U Vᵀ (``evaluator.Structured``) done symbolically: a node
whose value is diag(v), c I, 𝟏𝟏ᵀ, 0, an outer product u vᵀ, or a sum, scaling,
transpose or product of these and dense matrices is held as a short list of terms

    diag(d)   (d a column, or a 1×1 c standing for c I),
    L R       (L of shape (r, k), R of shape (k, c): an outer product when k = 1),
    M         (a dense matrix, or a scalar, column or row broadcast to the shape),

and each consumer applies the identity that keeps the terms thin:

    diag(d) B = d ⊙ B,   B diag(d) = B ⊙ dᵀ,   I B = B,   (L R) B = L (R B),
    B (L R) = (B L) R,   (L₁R₁)(L₂R₂) = (L₁(R₁L₂)) R₂,
    tr(diag d) = Σd,     tr(L R) = tr(R L),      diag(L R) = (L ⊙ Rᵀ) 𝟏,
    𝟏ᵀ(L R)𝟏 = (𝟏ᵀL)(R𝟏),   diag(d) ⊙ M = diag(d ⊙ diag M),
    (u vᵀ) ⊙ M = u ⊙ M ⊙ vᵀ,   diag(d)⁻¹ = diag(1 ⊘ d),   log det diag(d) = Σ log|d|.

Only nodes that lowering already prints without a dense table come out (diag(v) B is
its broadcast ``v * B``).  A consumer with no such identity (an elementwise function,
softmax, det, …) gets the matrix as an expression again: the node itself when no rule
changed it (``origin``), so code without structure is untouched.  The walk is over
the DAG, each node once, and every term refers to interned (shared) nodes, so the
rewritten DAG grows by a bounded number of nodes per node; the number of L R terms
is capped (``MAX_OUTER``) and a larger sum is made dense rather than grown further.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

import sympy

from . import expr as E
from .dims import Shape
from .functions import FUNCTIONS

ONE = E.Const.make(sympy.Integer(1))
# A sum of more outer-product terms than this is made dense: ranks add under sums and
# products, and a long sum of thin terms costs more code than its table saves.
MAX_OUTER = 8


@dataclass(frozen=True, slots=True)
class DiagTerm:
    """diag(d); a 1×1 d is the scalar c of c I."""

    d: E.Expr


@dataclass(frozen=True, slots=True)
class Outer:
    """left @ right, kept as its two thin factors."""

    left: E.Expr
    right: E.Expr


@dataclass(frozen=True, slots=True)
class Dense:
    """A matrix expression, or a scalar, column or row broadcast to the shape."""

    m: E.Expr


Term = DiagTerm | Outer | Dense


@dataclass(frozen=True, slots=True)
class Structured:
    """A matrix of shape held as the sum of terms.  origin is the node it is, verbatim,
    when only linear bookkeeping (sums, scalings, transposes) made it: that node is
    what a dense consumer reads, so unstructured code comes out unchanged."""

    shape: Shape
    terms: tuple[Term, ...]
    origin: E.Expr | None = None


Value = E.Expr | Structured


# -- small constructors that keep the code short (signs pulled out, 1 and 𝟏 dropped) ----
def _is_one(x: E.Expr) -> bool:
    return isinstance(x, E.Const) and x.value == 1


def _neg(x: E.Expr) -> E.Expr:
    return x.a if isinstance(x, E.Neg) else E.Neg.make(x)


def _t(x: E.Expr) -> E.Expr:
    """xᵀ; (−x)ᵀ = −xᵀ, a scalar is its own transpose, 𝟏ᵀ is a ones matrix."""
    if x.is_scalar:
        return x
    if isinstance(x, E.Transpose):
        return x.a
    if isinstance(x, E.Neg):
        return _neg(_t(x.a))
    if isinstance(x, E.Ones):
        return E.Ones.make(x.cols, x.rows)
    return E.Transpose.make(x)


def _add(a: E.Expr, b: E.Expr) -> E.Expr:
    """a + b, a − b for b = −b′ (one pass, no negated temporary)."""
    if isinstance(b, E.Neg):
        return E.Sub.make(a, b.a)
    if isinstance(a, E.Neg):
        return E.Sub.make(b, a.a)
    return E.Add.make(a, b)


def _mul(a: E.Expr, b: E.Expr) -> E.Expr:
    """a ⊙ b; 1 ⊙ b = b and 𝟏 ⊙ b = b when b already has the product's shape."""
    if isinstance(a, E.Neg) or isinstance(b, E.Neg):
        negated = isinstance(a, E.Neg) != isinstance(b, E.Neg)
        a, b = (a.a if isinstance(a, E.Neg) else a), (b.a if isinstance(b, E.Neg) else b)
        product = _mul(a, b)
        return _neg(product) if negated else product
    for unit, other in ((a, b), (b, a)):
        if (_is_one(unit) or isinstance(unit, E.Ones)) and _fits(unit.shape, other.shape):
            return other
    return E.Mul.make(a, b)


def _fits(small: Shape, shape: Shape) -> bool:
    """Whether small broadcasts to shape without growing it."""
    return all(s == 1 or s == t for s, t in zip(small, shape, strict=True))


def _div(a: E.Expr, b: E.Expr) -> E.Expr:
    if isinstance(a, E.Neg):
        return _neg(_div(a.a, b))
    return E.Div.make(a, b)


def _matmul(a: E.Expr, b: E.Expr) -> E.Expr:
    """a b, with a sign pulled out of either factor; a 1×1 factor is a scalar one."""
    if isinstance(a, E.Neg):
        return _neg(_matmul(a.a, b))
    if isinstance(b, E.Neg):
        return _neg(_matmul(a, b.a))
    if a.is_scalar or b.is_scalar:
        return _mul(a, b)
    if isinstance(b, E.Ones) and b.cols == 1:  # M 𝟏: row sums (lowering's BLAS form)
        return _sum(a, 1)
    if isinstance(a, E.Ones) and a.rows == 1:  # 𝟏ᵀ M: column sums
        return _sum(b, 0)
    return E.matmul(a, b)


def _number(value: object) -> sympy.Expr:
    """A size or number made here (an int, or a sympy expression of sizes) as sympy's;
    never text (nothing here parses a string)."""
    if isinstance(value, bool) or not isinstance(value, int | sympy.Expr):
        raise TypeError(f"structure_rewrite: {value!r} is not a size or a number")
    return sympy.Integer(value) if isinstance(value, int) else value


def _const(value: object) -> E.Expr:
    return E.Const.make(_number(value))


def _sum(x: E.Expr, axis: int | None) -> E.Expr:
    """Σ of all entries (axis None), column sums (0) or row sums (1); of 𝟏 by its size."""
    if x.is_scalar:
        return x
    if isinstance(x, E.Ones):
        if axis is None:
            return _const(x.rows * x.cols)
        if axis == 0:
            return _mul(_const(x.rows), E.Ones.make(1, x.cols))
        return _mul(_const(x.cols), E.Ones.make(x.rows, 1))
    if isinstance(x, E.Neg):
        return _neg(_sum(x.a, axis))
    if axis == 0 and x.rows == 1 or axis == 1 and x.cols == 1:
        return x
    return E.Sum.make(x, axis)


def _fold(parts: Sequence[E.Expr], shape: Shape) -> E.Expr:
    """The sum of parts (0 of shape when there are none); positive parts first, so a
    negated one is subtracted."""
    if not parts:
        return E.Zero.make(*shape)
    ordered = sorted(parts, key=lambda p: isinstance(p, E.Neg))
    total = reduce(_add, ordered)
    if total.shape != shape:  # only broadcast parts (a scalar beside a zero matrix)
        total = E.Add.make(E.Zero.make(*shape), total)
    return total


def _big(shape: Shape) -> bool:
    """A shape whose table may be far larger than its rows and columns: neither is 1."""
    return shape[0] != 1 and shape[1] != 1


# -- terms: what each is as an expression, and the identities on each -------------------
def _term_matrix(term: Term, n: object) -> E.Expr:
    if isinstance(term, Dense):
        return term.m
    if isinstance(term, Outer):
        return _matmul(term.left, term.right)
    if term.d.is_scalar:  # c I
        eye = E.Identity.make(n)
        return eye if _is_one(term.d) else _mul(term.d, eye)
    return E.Diag.make(term.d)


def materialise(value: Value) -> E.Expr:
    """The matrix as one expression (the node itself when nothing was rewritten)."""
    if isinstance(value, E.Expr):
        return value
    if value.origin is not None:
        return value.origin
    return _fold([_term_matrix(t, value.shape[0]) for t in value.terms], value.shape)


def _full(terms: Sequence[Term], shape: Shape) -> list[Term]:
    """The terms with each broadcast scalar, column or row written as an outer product
    with a ones vector: c = (c 𝟏)𝟏ᵀ, u = u 𝟏ᵀ, w = 𝟏 w."""
    rows, cols = shape
    out: list[Term] = []
    for term in terms:
        if not isinstance(term, Dense) or term.m.shape == shape:
            out.append(term)
        elif term.m.is_scalar:
            out.append(Outer(_mul(term.m, E.Ones.make(rows, 1)), E.Ones.make(1, cols)))
        elif term.m.shape == (rows, 1):
            out.append(Outer(term.m, E.Ones.make(1, cols)))
        else:
            out.append(Outer(E.Ones.make(rows, 1), term.m))
    return out


def _normal(shape: Shape, terms: Sequence[Term], origin: E.Expr | None = None) -> Value:
    """Like terms collected (one diagonal, one dense part, outer products sharing a
    factor merged: L₁R + L₂R = (L₁ + L₂)R); a plain expression when no structure is
    left, the shape is thin, or the outer products are too many."""
    diagonal = [t.d for t in terms if isinstance(t, DiagTerm)]
    dense = [t.m for t in terms if isinstance(t, Dense)]
    outers: list[Outer] = []
    for term in terms:
        if not isinstance(term, Outer):
            continue
        for k, other in enumerate(outers):
            if other.right is term.right:
                outers[k] = Outer(_add(other.left, term.left), term.right)
                break
            if other.left is term.left:
                outers[k] = Outer(term.left, _add(other.right, term.right))
                break
        else:
            outers.append(term)
    collected: list[Term] = [Dense(_fold(dense, _broadcast_shape(dense)))] if dense else []
    collected += outers
    if diagonal:
        collected.append(DiagTerm(_fold(diagonal, _broadcast_shape(diagonal))))
    value = Structured(shape, tuple(collected), origin)
    if not _big(shape) or len(outers) > MAX_OUTER:
        return materialise(value)
    if not diagonal and not outers and dense and dense[0].shape == shape and len(dense) == 1:
        return dense[0]
    return value


def _broadcast_shape(parts: Sequence[E.Expr]) -> Shape:
    rows = next((p.rows for p in parts if p.rows != 1), 1)
    cols = next((p.cols for p in parts if p.cols != 1), 1)
    return (rows, cols)


def _terms(value: Value) -> tuple[Term, ...]:
    return value.terms if isinstance(value, Structured) else (Dense(value),)


def _origin(node: E.Expr, args: Sequence[Value]) -> E.Expr | None:
    """node over its arguments' verbatim nodes, when every structured one has one."""
    children = [a.origin if isinstance(a, Structured) else a for a in args]
    if any(c is None for c in children):
        return None
    return node.with_args(*children)  # type: ignore[arg-type]


def _scale(term: Term, f: E.Expr, op: Callable[[E.Expr, E.Expr], E.Expr]) -> Term:
    """term ⊙ f (op = _mul) or term ⊘ f (op = _div) for a scalar, column or row f:
    diag(d) ⊙ f = diag(d ⊙ f) (fᵀ for a row), (L R) ⊙ u = (u ⊙ L) R, (L R) ⊙ w = L (R ⊙ w)."""
    if isinstance(term, DiagTerm):
        return DiagTerm(op(term.d, _t(f) if f.rows == 1 else f))
    if isinstance(term, Outer):
        if f.rows == 1 and not f.is_scalar:
            return Outer(term.left, op(term.right, f))
        return Outer(op(term.left, f), term.right)
    return Dense(op(term.m, f))


def _diagonal(term: Term, n: object) -> E.Expr:
    """The diagonal of one term, a column: d; (L ⊙ Rᵀ) 𝟏; diag(M)."""
    if isinstance(term, DiagTerm):
        return _mul(term.d, E.Ones.make(n, 1)) if term.d.is_scalar else term.d
    if isinstance(term, Outer):
        product = _mul(term.left, _t(term.right))
        return product if term.left.cols == 1 else _sum(product, 1)
    if term.m.is_scalar:
        return _mul(term.m, E.Ones.make(n, 1))
    if term.m.cols == 1:
        return term.m
    if term.m.rows == 1:
        return _t(term.m)
    return E.DiagPart.make(term.m)


def _product(a: Term, b: Term) -> Term:
    """One term of a b (full-shape terms): diag(d₁)diag(d₂) = diag(d₁ ⊙ d₂),
    diag(d) M = d ⊙ M, (L R) M = L (R M), M (L R) = (M L) R, (L₁R₁)(L₂R₂) = (L₁(R₁L₂))R₂."""
    if isinstance(a, DiagTerm):
        if isinstance(b, DiagTerm):
            return DiagTerm(_mul(a.d, b.d))
        if isinstance(b, Outer):
            return Outer(_diag_times(a.d, b.left), b.right)
        return Dense(_diag_times(a.d, b.m))
    if isinstance(a, Outer):
        if isinstance(b, DiagTerm):
            return Outer(a.left, _times_diag(a.right, b.d))
        if isinstance(b, Outer):
            return Outer(_matmul(a.left, _matmul(a.right, b.left)), b.right)
        return Outer(a.left, _matmul(a.right, b.m))
    if isinstance(b, DiagTerm):
        return Dense(_times_diag(a.m, b.d))
    if isinstance(b, Outer):
        return Outer(_matmul(a.m, b.left), b.right)
    return Dense(_matmul(a.m, b.m))


def _diag_times(d: E.Expr, m: E.Expr) -> E.Expr:
    """diag(d) M (c M for c I): lowering prints diag(d) M as the broadcast d ⊙ M."""
    if d.is_scalar:
        return _mul(d, m)
    if m.cols == 1:
        return _mul(d, m)
    return E.MatMul.make(E.Diag.make(d), m)


def _times_diag(m: E.Expr, d: E.Expr) -> E.Expr:
    """M diag(d) (M c for c I), printed as M ⊙ dᵀ."""
    if d.is_scalar:
        return _mul(m, d)
    if m.rows == 1:
        return _mul(m, _t(d))
    return E.MatMul.make(m, E.Diag.make(d))


def _hadamard(a: Term, b: Term, shape: Shape) -> Term:
    """One term of a ⊙ b: a broadcast factor scales the other term;
    diag(d) ⊙ X = diag(d ⊙ diag X); (u₁v₁ᵀ) ⊙ (u₂v₂ᵀ) = (u₁ ⊙ u₂)(v₁ ⊙ v₂)ᵀ;
    (u vᵀ) ⊙ M = u ⊙ M ⊙ vᵀ."""
    for x, y in ((a, b), (b, a)):
        if isinstance(x, Dense) and x.m.shape != shape:
            return _scale(y, x.m, _mul) if not isinstance(y, Dense) else Dense(_mul(x.m, y.m))
    for x, y in ((a, b), (b, a)):
        if isinstance(x, DiagTerm):
            return DiagTerm(_mul(x.d, _diagonal(y, shape[0])))
    if isinstance(a, Outer) and isinstance(b, Outer) and a.left.cols == 1 and b.left.cols == 1:
        return Outer(_mul(a.left, b.left), _mul(a.right, b.right))
    for x, y in ((a, b), (b, a)):
        if isinstance(x, Outer) and isinstance(y, Dense) and x.left.cols == 1:
            return Dense(_mul(_mul(x.left, y.m), x.right))
    return Dense(_mul(_term_matrix(a, shape[0]), _term_matrix(b, shape[0])))


def _factor(f: Value, shape: Shape) -> bool:
    """A plain scalar, column or row that scales a matrix of shape entry by entry."""
    return isinstance(f, E.Expr) and f.shape in ((1, 1), (shape[0], 1), (1, shape[1]))


# -- the rules, one per node type: the node, its rewritten arguments → a value or None ---
Rule = Callable[[E.Expr, list[Value]], Value | None]
RULES: dict[type[E.Expr], Rule] = {}
# The nodes that may start a structured value from plain arguments; every other rule
# runs only when an argument is structured.
SEEDS = (E.Identity, E.Diag, E.Ones, E.Zero, E.MatMul)


def rule(*types: type[E.Expr]) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for node_type in types:
            RULES[node_type] = fn
        return fn

    return register


@rule(E.Identity)
def _identity(node: E.Expr, args: list[Value]) -> Value | None:
    """I = diag(𝟏), held as 1 · I."""
    return Structured(node.shape, (DiagTerm(ONE),), node) if _big(node.shape) else None


@rule(E.Diag)
def _diag(node: E.Expr, args: list[Value]) -> Value | None:
    (v,) = args  # a column: never structured
    assert isinstance(v, E.Expr)
    return Structured(node.shape, (DiagTerm(v),), node.with_args(v)) if _big(node.shape) else None


@rule(E.Ones)
def _ones(node: E.Expr, args: list[Value]) -> Value | None:
    """𝟏𝟏ᵀ, the outer product of two ones vectors."""
    if not _big(node.shape):
        return None
    rows, cols = node.shape
    return Structured(node.shape, (Outer(E.Ones.make(rows, 1), E.Ones.make(1, cols)),), node)


@rule(E.Zero)
def _zero(node: E.Expr, args: list[Value]) -> Value | None:
    """0, the sum of no terms."""
    return Structured(node.shape, (), node) if _big(node.shape) else None


@rule(E.MatMul)
def _matmul_rule(node: E.Expr, args: list[Value]) -> Value | None:
    """A product with a structured factor, term by term; u vᵀ (inner size 1) is an
    outer product."""
    a, b = args
    if isinstance(a, E.Expr) and isinstance(b, E.Expr):
        if a.cols == 1 and _big(node.shape):
            return Structured(node.shape, (Outer(a, b),), node.with_args(a, b))
        return None
    left = _full(_terms(a), a.shape)
    right = _full(_terms(b), b.shape)
    return _normal(node.shape, [_product(x, y) for x in left for y in right])


@rule(E.Neg)
def _negate(node: E.Expr, args: list[Value]) -> Value | None:
    (a,) = args
    if not isinstance(a, Structured):
        return None
    terms = [_scale(t, ONE, lambda x, _: _neg(x)) for t in a.terms]
    return _normal(node.shape, terms, _origin(node, args))


@rule(E.Transpose)
def _transpose(node: E.Expr, args: list[Value]) -> Value | None:
    """(D + L R)ᵀ = D + Rᵀ Lᵀ."""
    (a,) = args
    if not isinstance(a, Structured):
        return None
    terms: list[Term] = []
    for t in a.terms:
        if isinstance(t, DiagTerm):
            terms.append(t)
        elif isinstance(t, Outer):
            terms.append(Outer(_t(t.right), _t(t.left)))
        else:
            terms.append(Dense(_t(t.m)))
    return _normal(node.shape, terms, _origin(node, args))


@rule(E.Add, E.Sub)
def _sum_of_terms(node: E.Expr, args: list[Value]) -> Value | None:
    a, b = args
    if not _big(node.shape):
        return None
    second = _terms(b)
    if isinstance(node, E.Sub):
        second = tuple(_scale(t, ONE, lambda x, _: _neg(x)) for t in second)
    return _normal(node.shape, [*_terms(a), *second], _origin(node, args))


@rule(E.Mul)
def _hadamard_rule(node: E.Expr, args: list[Value]) -> Value | None:
    a, b = args
    for s, f in ((a, b), (b, a)):
        if isinstance(s, Structured) and _factor(f, s.shape):
            assert isinstance(f, E.Expr)
            terms = [_scale(t, f, _mul) for t in s.terms]
            return _normal(node.shape, terms, _origin(node, args))
    if a.shape != b.shape:
        return None
    left, right = _terms(a), _terms(b)
    return _normal(node.shape, [_hadamard(x, y, node.shape) for x in left for y in right])


@rule(E.Div)
def _quotient(node: E.Expr, args: list[Value]) -> Value | None:
    a, b = args
    if isinstance(a, Structured) and _factor(b, a.shape):
        assert isinstance(b, E.Expr)
        terms = [_scale(t, b, _div) for t in a.terms]
        return _normal(node.shape, terms, _origin(node, args))
    return None


@rule(E.Trace)
def _trace(node: E.Expr, args: list[Value]) -> Value | None:
    """tr(diag d) = Σd, tr(c I) = c n, tr(L R) = tr(R L) (k×k; Rᵀ·L for k = 1)."""
    (a,) = args
    if not isinstance(a, Structured):
        return None
    n = a.shape[0]
    parts = []
    for t in _full(a.terms, a.shape):
        if isinstance(t, DiagTerm):
            parts.append(_mul(t.d, _const(n)) if t.d.is_scalar else _sum(t.d, None))
        elif isinstance(t, Outer):
            inner = _matmul(t.right, t.left)
            parts.append(inner if inner.is_scalar else E.Trace.make(inner))
        else:
            parts.append(E.Trace.make(t.m))
    return _fold(parts, node.shape)


@rule(E.Sum)
def _total(node: E.Expr, args: list[Value]) -> Value | None:
    """𝟏ᵀ(D + L R)𝟏 = 𝟏ᵀd + (𝟏ᵀL)(R𝟏); column sums dᵀ + (𝟏ᵀL) R; row sums d + L (R𝟏)."""
    (a,) = args
    if not isinstance(a, Structured):
        return None
    axis, (rows, cols) = node.axis, a.shape  # type: ignore[attr-defined]
    parts = []
    for t in _full(a.terms, a.shape):
        if isinstance(t, DiagTerm):
            if t.d.is_scalar:
                ones = {None: None, 0: E.Ones.make(1, cols), 1: E.Ones.make(rows, 1)}[axis]
                parts.append(_mul(t.d, _const(rows)) if ones is None else _mul(t.d, ones))
            else:
                parts.append(_sum(t.d, None) if axis is None else _t(t.d) if axis == 0 else t.d)
        elif isinstance(t, Outer):
            left = _sum(t.left, 0) if axis in (None, 0) else t.left
            right = _sum(t.right, 1) if axis in (None, 1) else t.right
            parts.append(_matmul(left, right))
        else:
            parts.append(_sum(t.m, axis))
    return _fold(parts, node.shape)


@rule(E.DiagPart)
def _diagonal_part(node: E.Expr, args: list[Value]) -> Value | None:
    """diag(D + L R) = d + (L ⊙ Rᵀ) 𝟏."""
    (a,) = args
    if not isinstance(a, Structured):
        return None
    return _fold([_diagonal(t, a.shape[0]) for t in a.terms], node.shape)


def _only_diagonal(value: Value) -> E.Expr | None:
    """d, when value is diag(d) alone (a column d: not c I)."""
    if isinstance(value, Structured) and len(value.terms) == 1:
        (term,) = value.terms
        if isinstance(term, DiagTerm) and not term.d.is_scalar:
            return term.d
    return None


@rule(E.Norm)
def _norm(node: E.Expr, args: list[Value]) -> Value | None:
    """‖diag(d)‖ = ‖d‖, ‖u vᵀ‖ = ‖u‖ ‖v‖."""
    (a,) = args
    d = _only_diagonal(a)
    if d is not None:
        return E.Norm.make(d)
    if isinstance(a, Structured) and len(a.terms) == 1:
        (term,) = a.terms
        if isinstance(term, Outer) and term.left.cols == 1:
            return _mul(E.Norm.make(term.left), E.Norm.make(term.right))
    return None


@rule(E.Inv)
def _inverse(node: E.Expr, args: list[Value]) -> Value | None:
    """diag(d)⁻¹ = diag(1 ⊘ d)."""
    d = _only_diagonal(args[0])
    return None if d is None else _normal(node.shape, [DiagTerm(_div(ONE, d))])


def _at_zero(node: E.Expr) -> sympy.Expr | None:
    """f(0) for an elementwise f(a) (a catalogue function, or a ** c for a constant c),
    when it is a finite real number."""
    if isinstance(node, E.Apply):
        value = _number(FUNCTIONS[node.fn].scalar(sympy.Integer(0)))
    elif isinstance(node, E.Pow) and isinstance(node.b, E.Const) and node.b.value.is_number:
        value = sympy.Pow(sympy.Integer(0), node.b.value)
    else:
        return None
    return value if value.is_number and value.is_extended_real and value.is_finite else None


@rule(E.Apply, E.Pow)
def _elementwise(node: E.Expr, args: list[Value]) -> Value | None:
    """f(diag d) = f(0) 𝟏𝟏ᵀ + diag(f(d) − f(0)) entry by entry: diag(f(d)) when f(0) = 0
    (tanh, sin, relu, d², …), and f(c I) likewise with the scalar c.  (log 0 = −∞, so
    log diag(d) has no finite form: it is left dense.)"""
    a = args[0]
    if not (isinstance(a, Structured) and len(a.terms) == 1 and isinstance(a.terms[0], DiagTerm)):
        return None
    if any(isinstance(b, Structured) for b in args[1:]):
        return None
    at_zero = _at_zero(node)
    if at_zero is None:
        return None
    image = node.with_args(a.terms[0].d, *args[1:])  # type: ignore[arg-type]
    if at_zero == 0:
        return _normal(node.shape, [DiagTerm(image)])
    off = E.Const.make(at_zero)
    return _normal(node.shape, [Dense(off), DiagTerm(E.Sub.make(image, off))])


@rule(E.LogDet)
def _logdet(node: E.Expr, args: list[Value]) -> Value | None:
    """log det diag(d) = Σ log dᵢ: NaN where some dᵢ < 0, as the dense form is where
    det ≤ 0 (an even number of negative dᵢ gives det > 0 there too: NaN, never a
    wrong number)."""
    d = _only_diagonal(args[0])
    return None if d is None else _sum(E.Apply.make("log", d), None)


def keep_structure(outputs: Sequence[E.Expr]) -> list[E.Expr]:
    """The outputs rewritten so that no structured intermediate is made dense (see the
    module's docstring); each output equals its original, and is its original when no
    structure was found.  One pass over the DAG, children first."""
    done: dict[int, Value] = {}
    plain: dict[int, E.Expr] = {}  # id of a Structured value → its expression

    def expression(value: Value) -> E.Expr:
        if isinstance(value, E.Expr):
            return value
        key = id(value)
        if key not in plain:
            plain[key] = materialise(value)
        return plain[key]

    for node in E.postorder(*outputs):
        args = [done[id(c)] for c in node.args]
        fn = RULES.get(type(node))
        value = None
        if fn is not None and (
            isinstance(node, SEEDS) or any(isinstance(a, Structured) for a in args)
        ):
            value = fn(node, args)
        if value is None:
            children = [expression(a) for a in args]
            changed = any(c is not o for c, o in zip(children, node.args, strict=True))
            value = node.with_args(*children) if changed else node
            if changed and isinstance(node, E.Transpose):
                value = _t(children[0])  # (xᵀ)ᵀ = x, where a rule made the inner one
        done[id(node)] = value
    return [expression(done[id(o)]) for o in outputs]
