"""Canonical forms for deciding equality symbolically.

``canonical(e)`` expands products over sums, pushes transposes down to the
leaves, folds constants, writes a sum as its sorted, collected terms, sorts
the factors of a Hadamard product, and rotates each trace of a product to
its least cyclic form (tr(ABC) = tr(BCA) = tr(CᵀBᵀAᵀ)).  Two expressions
with the same canonical form are equal; different forms prove nothing (the
check then compares numbers).  Every rewrite here preserves values.
"""

from __future__ import annotations

import hashlib

import sympy

from . import expr as E
from .dims import Shape
from .terms import ONE, Terms, collect, linear_terms, rebuild


def _scaled(coef: sympy.Expr, mono: E.Expr) -> E.Expr:
    if mono is ONE:
        return E.Const.make(coef)
    return mono if coef == 1 else E.Mul.make(E.Const.make(coef), mono)


def key(expr: E.Expr, memo: dict[int, str]) -> str:
    """A total order on expressions: a string that spells the structure, or a digest
    of that spelling once it is long (a DAG with shared parts would spell out to a
    string exponential in its depth; the digest keeps every key short)."""
    if id(expr) in memo:
        return memo[id(expr)]
    for node in _unseen_postorder(expr, memo):
        params = ",".join(str(p) for p in node.params())
        children = ",".join(memo[id(c)] for c in node.args)
        spelled = f"{type(node).__name__}[{params}]({children})"
        if len(spelled) > 160:
            spelled = "#" + hashlib.blake2b(spelled.encode(), digest_size=12).hexdigest()
        memo[id(node)] = spelled
    return memo[id(expr)]


def _unseen_postorder(expr: E.Expr, memo: dict[int, str]) -> list[E.Expr]:
    """The nodes of expr without a key yet, children first; keyed parts are not
    walked again (a key per sort comparison would cost the tree each time)."""
    order: list[E.Expr] = []
    stack: list[tuple[E.Expr, bool]] = [(expr, False)]
    queued: set[int] = set()
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in memo or id(node) in queued:
            continue
        queued.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.args))
    return order


# Expanding products over sums can double the terms at every layer of a network;
# past this many terms made, the symbolic stage gives up and check compares numbers.
MAX_TERMS = 1000
MAX_FACTORS = 50_000


class CanonicalTooLargeError(Exception):
    """The canonical form would take more than MAX_TERMS terms to build."""


class Normalizer:
    def __init__(self) -> None:
        self.memo: dict[int, E.Expr] = {}
        self.keys: dict[int, str] = {}
        self.made = 0  # terms made by products so far (bounded by MAX_TERMS)
        self.flattened = 0  # factors of product chains read so far (bounded by MAX_FACTORS)

    def key(self, expr: E.Expr) -> str:
        return key(expr, self.keys)

    # -- sums of terms ----------
    def terms(self, expr: E.Expr) -> Terms:
        """expr (normalized) as Σ cᵢ mᵢ, products of sums expanded."""
        return linear_terms(expr, expand=True)

    def total(self, terms: Terms, shape: Shape) -> E.Expr:
        """The canonical sum: like terms collected, sorted, zero terms dropped."""
        expanded = [(sympy.expand(c), m) for c, m in collect(terms)]
        kept = sorted(((c, m) for c, m in expanded if c != 0), key=lambda cm: self.key(cm[1]))
        return rebuild(kept, shape, _scaled, signed=False)

    # -- products ----------
    def hadamard(self, a: E.Expr, b: E.Expr) -> E.Expr:
        """a ⊙ b with the factors sorted (units dropped where they do not broadcast)."""
        shape = E.Mul.make(a, b).shape
        factors = self._factors(a, E.Mul) + self._factors(b, E.Mul)
        kept = [f for f in factors if f is not ONE and not isinstance(f, E.Ones)]
        if not kept:
            return ONE if shape == (1, 1) else E.Ones.make(*shape)
        kept.sort(key=self.key)
        out = kept[0]
        for f in kept[1:]:
            out = E.Mul.make(out, f)
        if out.shape != shape:
            out = E.Mul.make(E.Ones.make(*shape), out)
        return out

    def _factors(self, expr: E.Expr, kind: type) -> list[E.Expr]:
        """The factors of a product chain, in order, without recursion; each factor
        counts against the budget (re-flattening a deep chain at every level is
        quadratic: past MAX_FACTORS the numbers decide)."""
        found: list[E.Expr] = []
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, kind) and not (kind is E.Mul and isinstance(node.args[0], E.Const)):
                stack.extend(node.args[::-1])
            else:
                found.append(node)
        self.flattened += len(found)
        if self.flattened > MAX_FACTORS:
            raise CanonicalTooLargeError(f"more than {MAX_FACTORS} factors flattened")
        return found

    def matmul(self, a: E.Expr, b: E.Expr) -> E.Expr:
        if a.is_scalar or b.is_scalar:
            return self.hadamard(a, b)
        chain = [f for f in self._factors(a, E.MatMul) + self._factors(b, E.MatMul)
                 if not isinstance(f, E.Identity)]  # fmt: skip
        if not chain:
            return E.Identity.make(a.rows)
        out = chain[0]
        for f in chain[1:]:
            out = E.MatMul.make(out, f)
        return out

    def full_terms(self, expr: E.Expr) -> Terms:
        """The terms, each stretched to expr's shape (a broadcast term of a sum is
        an outer product inside a matrix product, not a scalar factor)."""
        out: Terms = []
        for coef, mono in self.terms(expr):
            if mono.shape != expr.shape:
                mono = (
                    E.Ones.make(*expr.shape)
                    if mono is ONE
                    else E.Mul.make(E.Ones.make(*expr.shape), mono)
                )
            out.append((coef, mono))
        return out

    def product(self, a: E.Expr, b: E.Expr, combine) -> Terms:
        """(Σ aᵢ)(Σ bⱼ) = Σ aᵢ bⱼ, each product of monomials made by combine."""
        terms: Terms = []
        left, right = self.full_terms(a), self.full_terms(b)
        self.made += len(left) * len(right)
        if self.made > MAX_TERMS:
            raise CanonicalTooLargeError
        for ca, ma in left:
            for cb, mb in right:
                mono = ONE if ma is ONE and mb is ONE else combine(ma, mb)
                terms.append((ca * cb, mono))
        return terms

    # -- transposes pushed to the leaves ----------
    def transpose(self, expr: E.Expr) -> E.Expr:
        if expr.is_scalar or isinstance(expr, E.Identity | E.Diag):
            return expr
        if isinstance(expr, E.Transpose):
            return expr.a
        if isinstance(expr, E.Ones | E.Zero):
            return type(expr).make(expr.cols, expr.rows)
        if isinstance(expr, E.Add):
            return E.Add.make(self.transpose(expr.a), self.transpose(expr.b))
        if isinstance(expr, E.Mul):
            return E.Mul.make(self.transpose(expr.a), self.transpose(expr.b))
        if isinstance(expr, E.MatMul):
            return E.MatMul.make(self.transpose(expr.b), self.transpose(expr.a))
        if isinstance(expr, E.Div | E.Pow | E.Maximum):
            return type(expr).make(self.transpose(expr.a), self.transpose(expr.b))
        if isinstance(expr, E.Apply):
            return E.Apply.make(expr.fn, self.transpose(expr.a))
        if isinstance(expr, E.Inv):
            return E.Inv.make(self.transpose(expr.a))
        if isinstance(expr, E.Sum) and expr.axis is not None:
            return E.Sum.make(self.transpose(expr.a), 1 - expr.axis)
        return E.Transpose.make(expr)

    # -- the walk ----------
    def normalize(self, expr: E.Expr) -> E.Expr:
        for node in E.postorder(expr):
            if id(node) not in self.memo:
                args = [self.memo[id(c)] for c in node.args]
                self.memo[id(node)] = self._node(node, args)
        return self.memo[id(expr)]

    def _node(self, node: E.Expr, args: list[E.Expr]) -> E.Expr:
        shape = node.shape
        if isinstance(node, E.Add):
            return self.total(self.terms(args[0]) + self.terms(args[1]), shape)
        if isinstance(node, E.Sub):
            return self.total(
                self.terms(args[0]) + [(-c, m) for c, m in self.terms(args[1])], shape
            )
        if isinstance(node, E.Neg):
            return self.total([(-c, m) for c, m in self.terms(args[0])], shape)
        if isinstance(node, E.Mul):
            return self.total(self.product(args[0], args[1], self.hadamard), shape)
        if isinstance(node, E.MatMul):
            return self.total(self.product(args[0], args[1], self.matmul), shape)
        if isinstance(node, E.Div) and isinstance(args[1], E.Const) and args[1].value != 0:
            return self.total([(c / args[1].value, m) for c, m in self.terms(args[0])], shape)
        if isinstance(node, E.Div):
            terms = [(c, E.Div.make(m, args[1])) for c, m in self.terms(args[0]) if m is not ONE]
            terms += [(c, E.Div.make(ONE, args[1])) for c, m in self.terms(args[0]) if m is ONE]
            return self.total(terms, shape)
        if isinstance(node, E.Transpose):
            (a,) = args
            return self.total([(c, self.transpose(m)) for c, m in self.terms(a)], shape)
        if isinstance(node, E.Trace):  # broadcast terms count once per entry: stretch them
            return self.total([(c, self.trace(m)) for c, m in self.full_terms(args[0])], shape)
        if isinstance(node, E.Sum):
            (a,) = args
            if node.axis is None:
                terms = [(c, self._sum(m)) for c, m in self.full_terms(a)]
                return self.total(terms, shape)
            return E.Sum.make(a, node.axis) if a.shape != shape else a
        if isinstance(node, E.Pow) and isinstance(args[1], E.Const) and args[1].value == 1:
            return args[0]
        if isinstance(node, E.Pow) and isinstance(args[1], E.Const) and args[1].value == 2:
            return self.total(self.product(args[0], args[0], self.hadamard), shape)
        if isinstance(node, E.Ones) and node.shape == (1, 1):
            return ONE
        return node.with_args(*args) if args else node

    def _sum(self, mono: E.Expr) -> E.Expr:
        if mono is ONE:
            return ONE
        if isinstance(mono, E.Transpose):
            mono = mono.a
        return mono if mono.is_scalar else E.Sum.make(mono, None)

    def trace(self, mono: E.Expr) -> E.Expr:
        """tr of a product, rotated to its least form (cyclic and transpose invariance)."""
        if mono.is_scalar:
            return mono
        if isinstance(mono, E.Identity):
            return E.Const.make(sympy.Integer(mono.n) if isinstance(mono.n, int) else mono.n)
        chain = self._factors(mono, E.MatMul)
        reversed_chain = [self.transpose(f) for f in reversed(chain)]
        candidates = []
        for factors in (chain, reversed_chain):
            for start in range(len(factors)):
                rotated = factors[start:] + factors[:start]
                out = rotated[0]
                for f in rotated[1:]:
                    out = E.MatMul.make(out, f)
                candidates.append(out)
        return E.Trace.make(min(candidates, key=self.key))


def canonical(expr: E.Expr) -> E.Expr | None:
    """The canonical form of expr (see the module's docstring), or None where it
    would be too large to build (bounded work: the check then compares numbers)."""
    try:
        return Normalizer().normalize(expr)
    except CanonicalTooLargeError:
        return None
