"""Simplifying constructors and the named rewrite rules.

Each rewrite is one small function registered for one node type under a
name ("fold constants", "collect like terms", "push transpose into product",
...).  ``simplify_node`` applies the rules of a node whose children are
already simplified until none fires; ``simplify`` does that bottom-up over a
whole DAG.  The derivative engine builds every expression through the
constructors below (``add``, ``mul``, ``matmul`` ...), so its results come out
simplified as they are made.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from typing import TypeVar, cast

import sympy

from . import expr as E
from .dims import Shape, is_scalar_shape
from .functions import FUNCTIONS
from .terms import ONE, Terms, collect, linear_terms, rebuild
from .terms import negative as _negative

Rewrite = Callable[[E.Expr], E.Expr | None]
REWRITES: dict[type[E.Expr], list[tuple[str, Rewrite]]] = {}
_normal: weakref.WeakSet[E.Expr] = weakref.WeakSet()
# How often each named rewrite has fired in this process (derivations name the
# ones that made a step; the benchmarks report the counts).
FIRED: Counter[str] = Counter()
# The rewrites that put a function in a numerically stable form, and their identities.
STABLE_FORMS = {
    "log-sigmoid": "log σ(u) = −softplus(−u), log(1 − σ(u)) = −softplus(u)",
    "log-softmax": "log softmax(u) = u − logsumexp(u)",
    "log-sum-exp": "log sum(exp(u)) = logsumexp(u)",
    "squared norm": "‖u‖² = uᵀu",
    "inverse functions": "log exp(u) = u",
}


RewriteFunction = TypeVar("RewriteFunction", bound=Callable[..., E.Expr | None])


def rewrite(node_type: type[E.Expr], name: str) -> Callable[[RewriteFunction], RewriteFunction]:
    """Register fn as a rewrite of node_type (it is only ever called with such a node)."""

    def register(fn: RewriteFunction) -> RewriteFunction:
        REWRITES.setdefault(node_type, []).append((name, cast(Rewrite, fn)))
        return fn

    return register


def simplify_node(node: E.Expr) -> E.Expr:
    """Apply this node's rewrites (children already simplified) until none fires."""
    if node in _normal:
        return node
    for _ in range(1000):
        for name, rule in REWRITES.get(type(node), ()):
            new = rule(node)
            if new is not None and new is not node:
                FIRED[name] += 1
                node = new
                break
        else:
            _normal.add(node)
            return node
    raise RuntimeError(f"simplify: rewrites did not settle on {node}")  # pragma: no cover


SUMS = (E.Add, E.Sub)
LONG_SUM = 16  # terms below which every partial sum of a chain is simplified


def _inside_long_sums(order: list[E.Expr]) -> set[int]:
    """The partial sums of a long chain a + b + c + …, but its root: collecting like
    terms at each would cost the chain's length each time (quadratic); the root
    collects them all once.  A short chain is simplified at every node, as before."""
    size: dict[int, int] = {}
    inner: set[int] = set()
    for node in order:
        if isinstance(node, SUMS):
            size[id(node)] = 1 + sum(size.get(id(a), 0) for a in node.args)
            for a in node.args:
                if size.get(id(a), 0) > LONG_SUM:
                    inner.add(id(a))
    # a partial sum is skipped only if every use of it is inside the chain
    for node in order:
        if not isinstance(node, SUMS):
            inner.difference_update(id(a) for a in node.args)
    return inner


def simplify(expr: E.Expr) -> E.Expr:
    """The expression rewritten bottom-up to the simplifier's normal form."""
    done: dict[int, E.Expr] = {}
    order = E.postorder(expr)
    inner = _inside_long_sums(order)
    for item in order:
        args = item.args
        new_args = tuple(done[id(a)] for a in args)
        rebuilt = (
            item
            if all(n is o for n, o in zip(new_args, args, strict=True))
            else item.with_args(*new_args)
        )
        done[id(item)] = rebuilt if id(item) in inner else simplify_node(rebuilt)
    return done[id(expr)]


# -- constructors ---------------------------------------------------------------
def const(value: object) -> E.Expr:
    number = value if isinstance(value, sympy.Basic) else E.exact_number(value)
    if isinstance(number, sympy.Float) and number == int(number):
        number = sympy.Integer(int(number))
    return E.Const.make(number)


def ones(rows: object, cols: object = 1) -> E.Expr:
    shape = E.dims_of(rows, cols)
    return const(1) if is_scalar_shape(shape) else E.Ones.make(*shape)


def zero(shape: Shape) -> E.Expr:
    return const(0) if is_scalar_shape(shape) else E.Zero.make(*shape)


def identity(n: object) -> E.Expr:
    (size, _) = E.dims_of(n, 1)
    return const(1) if size == 1 else E.Identity.make(size)


def _build(cls: type[E.Expr], *values: object) -> E.Expr:
    return simplify_node(cls.make(*values))


def add(a: E.Expr, b: E.Expr) -> E.Expr:
    return _build(E.Add, a, b)


def sub(a: E.Expr, b: E.Expr) -> E.Expr:
    return _build(E.Sub, a, b)


def mul(a: E.Expr, b: E.Expr) -> E.Expr:
    return _build(E.Mul, a, b)


def div(a: E.Expr, b: E.Expr) -> E.Expr:
    return _build(E.Div, a, b)


def power(a: E.Expr, b: E.Expr) -> E.Expr:
    return _build(E.Pow, a, b)


def maximum(a: E.Expr, b: E.Expr) -> E.Expr:
    return _build(E.Maximum, a, b)


def neg(a: E.Expr) -> E.Expr:
    return _build(E.Neg, a)


def apply(fn: str, a: E.Expr) -> E.Expr:
    return _build(E.Apply, fn, a)


def matmul(a: E.Expr, b: E.Expr) -> E.Expr:
    return simplify_node(E.matmul(a, b))


def transpose(a: E.Expr) -> E.Expr:
    return _build(E.Transpose, a)


def total(a: E.Expr, axis: int | None = None) -> E.Expr:
    return _build(E.Sum, a, axis)


def trace(a: E.Expr) -> E.Expr:
    return _build(E.Trace, a)


def inv(a: E.Expr) -> E.Expr:
    return _build(E.Inv, a)


def diag(a: E.Expr) -> E.Expr:
    return _build(E.Diag, a)


def diag_part(a: E.Expr) -> E.Expr:
    return _build(E.DiagPart, a)


def softmax(a: E.Expr) -> E.Expr:
    return _build(E.Softmax, a)


# -- predicates -----------------------------------------------------------------
def const_value(x: E.Expr) -> sympy.Expr | None:
    return x.value if isinstance(x, E.Const) else None


def is_const(x: E.Expr, value: int) -> bool:
    return isinstance(x, E.Const) and x.value == value


def is_zero(x: E.Expr) -> bool:
    return isinstance(x, E.Zero) or is_const(x, 0)


def is_unit(x: E.Expr) -> bool:
    """1 or 𝟏 (ones): a factor that leaves entries unchanged."""
    return isinstance(x, E.Ones) or is_const(x, 1)


def _number(value: sympy.Expr) -> bool:
    return bool(value.is_number)


# -- elementwise sums: one rule collects like terms ------------------------------


def _scaled(coef: sympy.Expr, term: E.Expr) -> E.Expr:
    if term is ONE:
        return const(coef)
    return term if coef == 1 else mul(const(coef), term)


def add_all(terms: list[E.Expr]) -> E.Expr:
    """Σ terms, collected once (adding one at a time would be quadratic)."""
    total = terms[0]
    for term in terms[1:]:
        total = E.Add.make(total, term)
    return simplify_node(total)


@rewrite(E.Add, "collect like terms")
@rewrite(E.Sub, "collect like terms")
def collect_like_terms(node: E.Add | E.Sub) -> E.Expr | None:
    terms = _untransposed_sums(linear_terms(node))
    if not terms:
        return zero(node.shape)
    terms.sort(key=lambda ct: _negative(ct[0]))  # stable: positive terms lead
    factored = _factor_out(terms, node.shape)
    if factored is not None:
        return factored
    if len(terms) > 1 and all(_negative(coef) for coef, _ in terms):  # −a − b = −(a + b)
        return neg(_rebuild_sum([(-coef, term) for coef, term in terms], node.shape))
    common = _common_factor(terms)
    if common is not None:  # c a − c b = c (a − b): one scaling, as the textbook writes it
        inner = _rebuild_sum([(coef / common, term) for coef, term in terms], node.shape)
        return mul(const(common), inner)
    return _rebuild_sum(terms, node.shape)


def _untransposed_sums(terms: Terms) -> Terms:
    """A term (a − b)ᵀ of a sum as aᵀ − bᵀ, so that its parts meet their like terms
    ((½ xᵀ S − cᵀ)ᵀ + ½ S x = S x − c for a symmetric S)."""
    if len(terms) < 2 or not any(_transposed_sum(t) for _, t in terms):
        return terms
    out: Terms = []
    for coef, term in terms:
        if _transposed_sum(term):
            out += [(coef * c, transpose(t)) for c, t in linear_terms(term.args[0])]
        else:
            out.append((coef, term))
    return collect(out)


def _transposed_sum(term: E.Expr) -> bool:
    return isinstance(term, E.Transpose) and isinstance(term.a, E.Add | E.Sub | E.Neg)


def _factor_out(terms: Terms, shape: Shape) -> E.Expr | None:
    """A B + A C = A (B + C) and B A + C A = (B + C) A for the terms that share the
    factor (Aᵀ x + A x = (A + Aᵀ) x; ½ Aᵀ x + ½ A x − c = ½ (A + Aᵀ) x − c): one
    product instead of several."""
    products = [t for _, t in terms if isinstance(t, E.MatMul)]
    if len(products) < 2:
        return None
    for side in (1, 0):  # a common right factor first: (A + Aᵀ) x
        counts: dict[int, int] = {}
        for t in products:
            counts[id(t.args[side])] = counts.get(id(t.args[side]), 0) + 1
        shared_id = next((k for k, v in counts.items() if v >= 2), None)
        if shared_id is None:
            continue
        sharing = [
            (c, t) for c, t in terms if isinstance(t, E.MatMul) and id(t.args[side]) == shared_id
        ]
        shared = sharing[0][1].args[side]
        rest = [(c, t.args[1 - side]) for c, t in sharing]
        rest.sort(key=lambda ct: (_negative(ct[0]), isinstance(ct[1], E.Transpose)))
        inner = _rebuild_sum(rest, rest[0][1].shape)
        inner = simplify_node(inner) if isinstance(inner, E.Add | E.Sub) else inner
        product = matmul(inner, shared) if side == 1 else matmul(shared, inner)
        if len(sharing) == len(terms):
            return product
        others = [(c, t) for c, t in terms if not any(t is u for _, u in sharing)]
        return _rebuild_sum([(sympy.Integer(1), product), *others], shape)
    return None


def _common_factor(terms: Terms) -> sympy.Expr | None:
    if len(terms) < 2:
        return None
    magnitude = abs(terms[0][0])
    if magnitude == 1 or any(abs(coef) != magnitude for coef, _ in terms):
        return None
    return magnitude


def _rebuild_sum(terms: Terms, shape: Shape) -> E.Expr:
    return rebuild(terms, shape, _scaled, signed=True, negate=neg)


# -- negation ---------------------------------------------------------------------
@rewrite(E.Neg, "double negation")
def double_negation(node: E.Neg) -> E.Expr | None:
    (a,) = node.args
    return a.a if isinstance(a, E.Neg) else None


@rewrite(E.Neg, "fold constants")
def negate_constant(node: E.Neg) -> E.Expr | None:
    (a,) = node.args
    if isinstance(a, E.Const):
        return const(-a.value)
    if isinstance(a, E.Zero):
        return a
    if isinstance(a, E.Mul) and isinstance(a.a, E.Const):
        return mul(const(-a.a.value), a.b)
    return None


# -- Hadamard product ---------------------------------------------------------------
@rewrite(E.Mul, "zero factor")
def zero_factor(node: E.Mul) -> E.Expr | None:
    a, b = node.args
    return zero(node.shape) if is_zero(a) or is_zero(b) else None


@rewrite(E.Mul, "fold constants")
def fold_product(node: E.Mul) -> E.Expr | None:
    a, b = node.args
    if isinstance(a, E.Const) and isinstance(b, E.Const):
        return const(a.value * b.value)
    return None


@rewrite(E.Mul, "unit factor")
def unit_factor(node: E.Mul) -> E.Expr | None:
    a, b = node.args
    if is_unit(a) and b.shape == node.shape:
        return b
    if is_unit(b) and a.shape == node.shape:
        return a
    for scaled_ones, other in ((a, b), (b, a)):  # (s 𝟏) ⊙ y = s y
        if (
            isinstance(scaled_ones, E.Mul)
            and scaled_ones.a.is_scalar
            and isinstance(scaled_ones.b, E.Ones)
            and other.shape == node.shape
        ):
            return mul(scaled_ones.a, other)
    return None


@rewrite(E.Mul, "constant factor first")
def constant_first(node: E.Mul) -> E.Expr | None:
    a, b = node.args
    if isinstance(b, E.Const) and not isinstance(a, E.Const):
        return mul(b, a)
    if b.is_scalar and not a.is_scalar:  # scalar factors lead: z x, not x z
        return mul(b, a)
    if isinstance(a, E.Const):
        if isinstance(b, E.Mul) and isinstance(b.a, E.Const):
            return mul(const(a.value * b.a.value), b.b)
        if isinstance(b, E.Neg):
            return mul(const(-a.value), b.a)
        if a.value == -1:
            return neg(b)
        return None
    if isinstance(a, E.Mul) and isinstance(a.a, E.Const):
        return mul(a.a, mul(a.b, b))
    if isinstance(b, E.Mul) and isinstance(b.a, E.Const):
        return mul(b.a, mul(a, b.b))
    return None


@rewrite(E.Mul, "negation outside")
def negation_outside_product(node: E.Mul) -> E.Expr | None:
    a, b = node.args
    if isinstance(a, E.Neg):
        return neg(mul(a.a, b))
    if isinstance(b, E.Neg):
        return neg(mul(a, b.a))
    return None


@rewrite(E.Mul, "square")
def square(node: E.Mul) -> E.Expr | None:
    a, b = node.args
    return power(a, const(2)) if a is b else None


@rewrite(E.Mul, "repeated factor as a power")
def repeated_factor(node: E.Mul) -> E.Expr | None:
    """s (s M) = s² M and sᵏ (s M) = sᵏ⁺¹ M for a scalar factor s: 2 det(X)² X⁻ᵀ."""
    a, b = node.args
    if not a.is_scalar or isinstance(a, E.Const) or not isinstance(b, E.Mul):
        return None
    inner, rest = b.args
    if not inner.is_scalar:
        return None
    base, exponent = _power_of(a)
    inner_base, inner_exponent = _power_of(inner)
    if base is not inner_base:
        return None
    return mul(power(base, const(exponent + inner_exponent)), rest)


def _power_of(x: E.Expr) -> tuple[E.Expr, sympy.Expr]:
    if isinstance(x, E.Pow) and isinstance(x.b, E.Const) and x.b.value.is_number:
        return x.a, x.b.value
    return x, sympy.Integer(1)


@rewrite(E.Mul, "broadcast instead of ones product")
def broadcast_outer_ones(node: E.Mul) -> E.Expr | None:
    """x ⊙ (𝟏 gᵀ) = x ⊙ g broadcast down the columns (and likewise for rows)."""
    a, b = node.args
    for full, other in ((a, b), (b, a)):
        if full.shape != node.shape or not isinstance(other, E.MatMul):
            continue
        left, right = other.args
        if isinstance(left, E.Ones) and left.is_column:
            return mul(full, right) if full is a else mul(right, full)
        if isinstance(right, E.Ones) and right.rows == 1:
            return mul(full, left) if full is a else mul(left, full)
    return None


# -- division, powers, functions ------------------------------------------------------
@rewrite(E.Div, "division by a constant")
def divide_by_constant(node: E.Div) -> E.Expr | None:
    a, b = node.args
    if is_zero(a):
        return zero(node.shape)
    if isinstance(b, E.Const) and b.value != 0 and (a.shape == node.shape):
        return mul(const(1 / b.value), a)
    if isinstance(b, E.Ones) and a.shape == node.shape:
        return a
    if isinstance(a, E.Div):  # (p / q) / b = p / (q ⊙ b)
        return div(a.a, mul(a.b, b))
    if isinstance(a, E.Neg):
        return neg(div(a.a, b))
    return None


@rewrite(E.Pow, "squared norm")
def squared_norm(node: E.Pow) -> E.Expr | None:
    """‖v‖² = vᵀv for a vector and ‖X‖² = sum(X ⊙ X) (Frobenius): no square root to
    differentiate, so the gradient is 2 Wᵀ (W x − y), not a ratio of norms."""
    a, b = node.args
    if not (isinstance(a, E.Norm) and is_const(b, 2)):
        return None
    (v,) = a.args
    if v.is_column:
        return matmul(transpose(v), v)
    if v.rows == 1:
        return matmul(v, transpose(v))
    return total(power(v, const(2)))


@rewrite(E.Pow, "fold powers")
def fold_power(node: E.Pow) -> E.Expr | None:
    a, b = node.args
    exponent = const_value(b)
    if exponent is None or a.shape != node.shape:
        return None
    if exponent == 1:
        return a
    if exponent == 0 or isinstance(a, E.Ones):
        return ones(*node.shape)
    if isinstance(a, E.Zero) and exponent.is_positive:
        return a
    if isinstance(a, E.Const):
        if abs(exponent) > 1000 and a.value not in (0, 1, -1):
            return None  # not computed: a huge integer power is a denial of service
        folded = a.value**exponent
        return const(folded) if _number(folded) and folded.is_real else None
    if isinstance(a, E.Pow) and isinstance(a.b, E.Const):
        inner = a.b.value
        if inner.is_integer and exponent.is_integer:
            return power(a.a, const(inner * exponent))
    return None


@rewrite(E.Apply, "fold constants")
def fold_function(node: E.Apply) -> E.Expr | None:
    (a,) = node.args
    if not isinstance(a, E.Const) or not _number(a.value):
        return None
    folded = FUNCTIONS[node.fn].scalar(a.value)
    return const(folded) if isinstance(folded, sympy.Rational) else None


# -- stable normal forms: what overflows when computed as written ---------------------
@rewrite(E.Apply, "log-sigmoid")
def log_sigmoid(node: E.Apply) -> E.Expr | None:
    """log σ(t) = −softplus(−t) and log(1 − σ(t)) = −softplus(t): finite for every t,
    where log of σ(t) = 0 in floating point is −∞ (t below about −37, or 1 − σ(t) for
    t above about 37)."""
    (a,) = node.args
    if node.fn != "log":
        return None
    if isinstance(a, E.Apply) and a.fn == "sigmoid":
        return neg(apply("softplus", neg(a.a)))
    if isinstance(a, E.Sub) and is_const(a.a, 1) and isinstance(a.b, E.Apply):
        if a.b.fn == "sigmoid" and a.b.shape == a.shape:
            return neg(apply("softplus", a.b.a))
    return None


@rewrite(E.Apply, "log-softmax")
def log_softmax(node: E.Apply) -> E.Expr | None:
    """log softmax(z) = z − logsumexp(z), per column (the max-shifted logsumexp is
    finite where softmax underflows to 0)."""
    (a,) = node.args
    if node.fn == "log" and isinstance(a, E.Softmax):
        return sub(a.a, _build(E.LogSumExp, a.a))
    return None


@rewrite(E.Apply, "log-sum-exp")
def log_sum_exp(node: E.Apply) -> E.Expr | None:
    """log(sum(exp(z))) = logsumexp(z) for a vector z, and log of the column sums of
    exp(Z) = logsumexp(Z) (max-shifted: finite where exp overflows)."""
    (a,) = node.args
    if node.fn != "log" or not isinstance(a, E.Sum):
        return None
    (inner,) = a.args
    if not (isinstance(inner, E.Apply) and inner.fn == "exp"):
        return None
    z = inner.a
    if (a.axis is None and z.is_column) or a.axis == 0:
        return _build(E.LogSumExp, z)
    return None


@rewrite(E.Apply, "inverse functions")
def inverse_functions(node: E.Apply) -> E.Expr | None:
    """log(exp(t)) = t."""
    (a,) = node.args
    if node.fn == "log" and isinstance(a, E.Apply) and a.fn == "exp":
        return a.a
    return None


@rewrite(E.Maximum, "fold constants")
def fold_maximum(node: E.Maximum) -> E.Expr | None:
    a, b = node.args
    if isinstance(a, E.Const) and isinstance(b, E.Const) and _number(a.value) and _number(b.value):
        return const(sympy.Max(a.value, b.value))
    return None


# -- matrix product ------------------------------------------------------------------
@rewrite(E.MatMul, "zero factor")
def matmul_zero(node: E.MatMul) -> E.Expr | None:
    a, b = node.args
    return zero(node.shape) if is_zero(a) or is_zero(b) else None


@rewrite(E.MatMul, "identity factor")
def matmul_identity(node: E.MatMul) -> E.Expr | None:
    a, b = node.args
    if isinstance(a, E.Identity):
        return b
    if isinstance(b, E.Identity):
        return a
    return None


@rewrite(E.MatMul, "scalar factor")
def matmul_scalar(node: E.MatMul) -> E.Expr | None:
    a, b = node.args
    if a.is_scalar or b.is_scalar:
        return mul(a, b) if a.is_scalar else mul(b, a)
    for factor, rest, left in ((a, b, True), (b, a, False)):
        # (c A) B = c (A B) for a number c (2 Wᵀ (W x − y), never Wᵀ 2 (…)) or a
        # structural or atomic A; a computed A (a δ) keeps any other scalar factor
        # (1/N, a norm), so the node is shared with the layer below (W₂ᵀ δ₂).
        if (
            isinstance(factor, E.Mul)
            and factor.a.is_scalar
            and not factor.b.is_scalar
            and (_is_number(factor.a) or _atomic(factor.b))
        ):
            inner = matmul(factor.b, rest) if left else matmul(rest, factor.b)
            return mul(factor.a, inner)
        if isinstance(factor, E.Neg):
            return neg(matmul(factor.a, rest) if left else matmul(rest, factor.a))
    return None


def _is_number(x: E.Expr) -> bool:
    """A constant number (2, −1/2), not a size expression such as 1/N."""
    return isinstance(x, E.Const) and bool(x.value.is_number)


def _atomic(x: E.Expr) -> bool:
    """A leaf, a transposed leaf, or a structured matrix (I, diag, 𝟏)."""
    if isinstance(x, E.Transpose):
        x = x.a
    return not x.args or isinstance(x, E.Identity | E.Diag | E.Ones)


@rewrite(E.MatMul, "diagonal product")
def diagonal_product(node: E.MatMul) -> E.Expr | None:
    """diag(a) diag(b) = diag(a ⊙ b);  diag(v) u = v ⊙ u;  uᵀ diag(v) = (u ⊙ v)ᵀ."""
    a, b = node.args
    if isinstance(a, E.Diag) and isinstance(b, E.Diag):
        return diag(mul(a.a, b.a))
    if isinstance(a, E.Diag):
        if b.is_column:
            return mul(a.a, b)
        if isinstance(b, E.MatMul) and isinstance(b.a, E.Diag):
            return matmul(diag(mul(a.a, b.a.a)), b.b)
    if isinstance(b, E.Diag):
        if isinstance(a, E.Ones) and a.rows == 1:
            return transpose(b.a)
        if a.rows == 1:
            base = a.a if isinstance(a, E.Transpose) else None
            return transpose(mul(base, b.a)) if base is not None else mul(a, transpose(b.a))
        if isinstance(a, E.MatMul) and isinstance(a.b, E.Diag):
            return matmul(a.a, diag(mul(a.b.a, b.a)))
    return None


@rewrite(E.MatMul, "inverse cancels")
def inverse_cancels(node: E.MatMul) -> E.Expr | None:
    """M⁻¹ M = M M⁻¹ = I and M⁻ᵀ Mᵀ = Mᵀ M⁻ᵀ = I, for adjacent factors of a product
    (−X⁻ᵀ Xᵀ X⁻ᵀ = −X⁻ᵀ)."""
    a, b = node.args
    left = a.args[1] if isinstance(a, E.MatMul) else a  # the two factors that meet
    right = b.args[0] if isinstance(b, E.MatMul) else b
    if not _inverse_pair(left, right):
        return None
    outer_left = a.args[0] if isinstance(a, E.MatMul) else None
    outer_right = b.args[1] if isinstance(b, E.MatMul) else None
    if outer_left is None and outer_right is None:
        return identity(node.rows)
    if outer_left is None:
        return outer_right
    if outer_right is None:
        return outer_left
    return matmul(outer_left, outer_right)


def _inverse_pair(p: E.Expr, q: E.Expr) -> bool:
    for first, second in ((p, q), (q, p)):
        if isinstance(first, E.Inv) and first.a is second:
            return True
        if (
            isinstance(first, E.Transpose)
            and isinstance(first.a, E.Inv)
            and isinstance(second, E.Transpose)
            and first.a.a is second.a
        ):
            return True
    return False


@rewrite(E.MatMul, "ones vector product")
def ones_product(node: E.MatMul) -> E.Expr | None:
    """𝟏ᵀ v = sum(v);  vᵀ 𝟏 = sum(v)."""
    a, b = node.args
    if isinstance(a, E.Ones) and a.rows == 1 and b.is_column:
        return total(b)
    if isinstance(b, E.Ones) and b.is_column and a.rows == 1:
        return total(a)
    return None


@rewrite(E.MatMul, "matrix-vector products first")
def vector_products_first(node: E.MatMul) -> E.Expr | None:
    """(A B) v = A (B v) and uᵀ (A B) = (uᵀ A) B: never form a matrix-matrix product."""
    a, b = node.args
    if b.is_column and isinstance(a, E.MatMul) and a.a.rows != 1:
        result = b  # the chain's factors applied to v one at a time, right to left
        for factor in reversed(E.matmul_factors(a)):
            result = matmul(factor, result)
        return result
    if a.rows == 1 and isinstance(b, E.MatMul) and b.b.cols != 1:
        result = a  # and uᵀ through the chain, left to right
        for factor in E.matmul_factors(b):
            result = matmul(result, factor)
        return result
    return None


# -- transpose -----------------------------------------------------------------------------
@rewrite(E.Transpose, "push transpose inward")
def push_transpose(node: E.Transpose) -> E.Expr | None:
    """xᵀ = x for a scalar; (Aᵀ)ᵀ = A; (AB)ᵀ = BᵀAᵀ; Sᵀ = S for a symmetric S
    (see ``is_symmetric``); (cA)ᵀ = cAᵀ."""
    (a,) = node.args
    if a.is_scalar or is_symmetric(a):
        return a
    if isinstance(a, E.Transpose):
        return a.a
    if isinstance(a, E.Ones):
        return ones(a.cols, a.rows)
    if isinstance(a, E.Zero):
        return zero(node.shape)
    if isinstance(a, E.MatMul):  # (A B C)ᵀ = Cᵀ Bᵀ Aᵀ, a factor at a time (no recursion)
        factors = [transpose(factor) for factor in reversed(E.matmul_factors(a))]
        result = factors[0]
        for factor in factors[1:]:
            result = matmul(result, factor)
        return result
    if isinstance(a, E.Neg):
        return neg(transpose(a.a))
    if isinstance(a, E.Mul) and a.a.is_scalar:
        return mul(a.a, transpose(a.b))
    return None


_SYMMETRIC: weakref.WeakKeyDictionary[E.Expr, bool] = weakref.WeakKeyDictionary()


def is_symmetric(x: E.Expr, depth: int = 0) -> bool:
    """Symmetric from structure (Matrix Cookbook §9.1): a symmetric variable, I, diag(v),
    𝟏𝟏ᵀ of a square shape, A Aᵀ, Aᵀ A, Aᵀ S A with S symmetric, A + Aᵀ, and sums,
    negations, scalar multiples and inverses of symmetric matrices."""
    if x.rows != x.cols:
        return False
    known = _SYMMETRIC.get(x)
    if known is not None:
        return known
    if depth > 40:  # bounded: a very deep sum is judged not symmetric, and not remembered
        raise _TooDeepError
    if depth > 0:
        known = _SYMMETRIC[x] = _symmetric(x, depth)
        return known
    try:
        known = _SYMMETRIC[x] = _symmetric(x, depth)
    except _TooDeepError:
        return False
    return known


class _TooDeepError(Exception):
    """is_symmetric went deeper than it may; the answer is no, and not remembered."""


def _symmetric(x: E.Expr, depth: int) -> bool:
    if isinstance(x, E.Variable):
        return x.symmetric
    if isinstance(x, E.Identity | E.Diag | E.Zero | E.Ones):
        return True
    if isinstance(x, E.Neg | E.Inv):
        return is_symmetric(x.args[0], depth + 1)
    if isinstance(x, E.Mul):
        a, b = x.args
        if a.is_scalar:
            return is_symmetric(b, depth + 1)
        return is_symmetric(a, depth + 1) and is_symmetric(b, depth + 1)  # Hadamard
    if isinstance(x, E.Add | E.Sub):
        a, b = x.args
        if isinstance(x, E.Add) and is_transpose_of(b, a):
            return True  # A + Aᵀ
        return is_symmetric(a, depth + 1) and is_symmetric(b, depth + 1)
    if isinstance(x, E.MatMul):
        a, b = x.args
        if is_transpose_of(b, a):
            return True  # A Aᵀ, Aᵀ A
        if isinstance(b, E.MatMul) and is_transpose_of(b.b, a):  # Aᵀ (S A)
            return is_symmetric(b.a, depth + 1)
        if isinstance(a, E.MatMul) and is_transpose_of(b, a.a):  # (Aᵀ S) A
            return is_symmetric(a.b, depth + 1)
    return False


def is_transpose_of(b: E.Expr, a: E.Expr, depth: int = 0) -> bool:
    """b = aᵀ, read off the structure the simplifier writes (transposes at the
    leaves, (A B)ᵀ = Bᵀ Aᵀ), without building aᵀ."""
    if depth > 40:
        return False
    if (isinstance(b, E.Transpose) and b.a is a) or (isinstance(a, E.Transpose) and a.a is b):
        return True
    if a.is_scalar and b is a:
        return True
    if type(a) is not type(b) or not a.args:
        return False
    if isinstance(a, E.MatMul):
        return is_transpose_of(b.args[0], a.args[1], depth + 1) and is_transpose_of(
            b.args[1], a.args[0], depth + 1
        )
    if isinstance(a, E.Add | E.Sub | E.Mul | E.Neg | E.Inv):
        return all(is_transpose_of(q, p, depth + 1) for p, q in zip(a.args, b.args, strict=True))
    return False


# -- reductions --------------------------------------------------------------------------------
@rewrite(E.Sum, "sum of a sum")
def simplify_sum(node: E.Sum) -> E.Expr | None:
    (a,) = node.args
    axis = node.axis
    if a.shape == node.shape:
        return a
    # each column of a probability variable, and of softmax(t), sums to 1
    if isinstance(a, E.Softmax) or isinstance(a, E.Variable) and a.probability:
        if axis == 1:
            return None
        return ones(1, a.cols) if axis == 0 else const(a.cols)
    if axis is not None and node.is_scalar:
        return total(a)
    if is_zero(a):
        return zero(node.shape)
    if isinstance(a, E.Transpose):
        if axis is None:
            return total(a.a)
        return transpose(total(a.a, 1 - axis))
    if isinstance(a, E.Neg):
        return neg(total(a.a, axis))
    if isinstance(a, E.Mul) and isinstance(a.a, E.Const) and a.b.shape == a.shape and _atomic(a.b):
        return mul(a.a, total(a.b, axis))
    if isinstance(a, E.Diag):  # 𝟏ᵀ diag(v) 𝟏 = 𝟏ᵀv; 𝟏ᵀ diag(v) = vᵀ; diag(v) 𝟏 = v
        if axis is None:
            return total(a.a)
        return transpose(a.a) if axis == 0 else a.a
    if isinstance(a, E.Ones) and axis is None:
        return const(a.rows * a.cols)
    if axis is None and isinstance(a, E.Mul) and a.a.is_scalar and isinstance(a.b, E.Ones):
        return mul(const(a.b.rows * a.b.cols), a.a)
    return None


@rewrite(E.Trace, "trace identities")
def simplify_trace(node: E.Trace) -> E.Expr | None:
    (a,) = node.args
    if a.is_scalar:
        return a
    if isinstance(a, E.Identity):
        return const(a.n)
    if isinstance(a, E.Diag):  # tr(diag(v)) = 𝟏ᵀv
        return total(a.a)
    if isinstance(a, E.MatMul) and a.a.cols == 1:  # tr(u wᵀ) = wᵀu (cyclic): no n×n table
        return matmul(a.b, a.a)
    if is_zero(a):
        return const(0)
    if isinstance(a, E.Transpose):
        return trace(a.a)
    if isinstance(a, E.Mul) and isinstance(a.a, E.Const):
        return mul(a.a, trace(a.b))
    if isinstance(a, E.Neg):
        return neg(trace(a.a))
    return None


@rewrite(E.Det, "determinant identities")
def simplify_det(node: E.Det) -> E.Expr | None:
    (a,) = node.args
    if a.is_scalar:
        return a
    if isinstance(a, E.Identity):
        return const(1)
    if isinstance(a, E.Transpose):
        return _build(E.Det, a.a)
    if isinstance(a, E.Inv):  # det(X⁻¹) = 1 / det X
        return div(const(1), _build(E.Det, a.a))
    return None


@rewrite(E.LogDet, "determinant identities")
def simplify_logdet(node: E.LogDet) -> E.Expr | None:
    (a,) = node.args
    if isinstance(a, E.Identity):
        return const(0)
    if isinstance(a, E.Transpose):
        return _build(E.LogDet, a.a)
    if isinstance(a, E.Inv):  # log det X⁻¹ = −log det X
        return neg(_build(E.LogDet, a.a))
    if a.is_scalar:
        return apply("log", a)
    return None


@rewrite(E.Inv, "inverse identities")
def simplify_inverse(node: E.Inv) -> E.Expr | None:
    (a,) = node.args
    if isinstance(a, E.Inv):
        return a.a
    if isinstance(a, E.Identity):
        return a
    if a.is_scalar:
        return div(const(1), a)
    if isinstance(a, E.Transpose):
        return transpose(inv(a.a))
    if isinstance(a, E.Diag):
        return diag(div(const(1), a.a))
    return None


@rewrite(E.Diag, "diagonal identities")
def simplify_diag(node: E.Diag) -> E.Expr | None:
    (a,) = node.args
    if a.is_scalar:
        return a
    if isinstance(a, E.Mul) and a.a.is_scalar and a.b.shape == a.shape:  # diag(c v) = c diag(v)
        return mul(a.a, diag(a.b))
    if isinstance(a, E.Ones):
        return identity(a.rows)
    if isinstance(a, E.Zero):
        return zero(node.shape)
    return None


@rewrite(E.DiagPart, "diagonal identities")
def simplify_diag_part(node: E.DiagPart) -> E.Expr | None:
    (a,) = node.args
    if a.is_scalar:
        return a
    if isinstance(a, E.Diag):
        return a.a
    if isinstance(a, E.Identity):
        return ones(a.n, 1)
    if isinstance(a, E.Ones):  # the diagonal of 𝟏𝟏ᵀ
        return ones(a.rows, 1)
    if isinstance(a, E.MatMul) and a.a.cols == 1:  # diag(u wᵀ) = u ⊙ w
        return mul(a.a, transpose(a.b))
    if isinstance(a, E.Zero):
        return zero(node.shape)
    if isinstance(a, E.Mul) and a.a.is_scalar and isinstance(a.b, E.Identity):
        return mul(a.a, ones(a.b.n, 1))
    if isinstance(a, E.Transpose):
        return diag_part(a.a)
    return None


@rewrite(E.Norm, "norm identities")
def simplify_norm(node: E.Norm) -> E.Expr | None:
    (a,) = node.args
    if is_zero(a):
        return const(0)
    if a.is_scalar:
        return apply("abs", a)
    if isinstance(a, E.Transpose | E.Neg):
        return _build(E.Norm, a.a)
    return None
