"""The differential of a matrix function, term by term: the steps a textbook takes
from f to ∂f/∂X when X reaches f through products, transposes, inverses, traces
and determinants (Magnus & Neudecker, *Matrix Differential Calculus*, ch. 9;
Petersen & Pedersen, *The Matrix Cookbook*, §2).

The rules, one per operation (P, Q depend on X; c, s, t are scalars):

    d(P Q) = dP Q + P dQ            d(Pᵀ) = (dP)ᵀ           d tr P = tr dP
    d(P⁻¹) = −P⁻¹ dP P⁻¹            d det P = det P tr(P⁻¹ dP)
    d log det P = tr(P⁻¹ dP)        d sum(P) = 𝟏ᵀ dP 𝟏      d‖P‖ = tr(Pᵀ dP) / ‖P‖
    d(P ± Q) = dP ± dQ              d(c P) = c dP           d(s t) = t ds + s dt
    d f(s) = f′(s) ds for a scalar s and an elementwise function f

Each term of df is c · tr(F₁ ⋯ dX ⋯ Fₖ) (or holds dXᵀ).  The trace is cyclic,
tr(A B) = tr(B A), and tr(Aᵀ) = tr(A), so each term becomes c · tr(G dX); then
df = tr(M dX) with M = Σ c G, and the identification theorem reads off
∂f/∂X = Mᵀ, shaped like X (for a vector x, df = M dx and ∂f/∂x = M is a row).
``expand`` gives the terms, or ``UnsupportedError`` when an operation on the path has
no rule here (an elementwise function of a matrix: the chain rule of Jacobians
derives those).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import constructors as C
from . import expr as E
from . import simplifier as s
from .functions import FUNCTIONS

RULES = {  # the identity each operation contributes, for the step's note
    E.MatMul: "d(P Q) = dP Q + P dQ", E.Transpose: "d(Pᵀ) = (dP)ᵀ", E.Trace: "d tr P = tr dP",
    E.Inv: "d(P⁻¹) = −P⁻¹ dP P⁻¹", E.Det: "d det P = det P tr(P⁻¹ dP)",
    E.LogDet: "d log det P = tr(P⁻¹ dP)", E.Sum: "d sum(P) = 𝟏ᵀ dP 𝟏",
    E.Norm: "d‖P‖ = tr(Pᵀ dP) / ‖P‖", E.Apply: "d f(s) = f′(s) ds",
}  # fmt: skip


class UnsupportedError(Exception):
    """An operation on the path to X that has no differential rule here."""


@dataclass(frozen=True)
class Term:
    """coefficient · (tr of) the product of factors; one factor is dX or dXᵀ."""

    coefficient: E.Expr
    factors: tuple[E.Expr, ...]
    traced: bool = False

    def scaled(self, c: E.Expr) -> Term:
        return Term(s.simplify(c * self.coefficient), self.factors, self.traced)

    def expr(self) -> E.Expr:
        """The term as an expression (dX a variable of its own)."""
        product = self.factors[0]
        for factor in self.factors[1:]:
            product = product @ factor
        if self.traced and not product.is_scalar:
            product = C.trace(product)
        one = isinstance(self.coefficient, E.Const) and self.coefficient.value == 1
        return product if one else self.coefficient * product


@dataclass
class Differential:
    """The terms of df for f and X, and the rules used on the way."""

    x: E.Variable
    dx: E.Variable  # the differential dX, a variable of X's shape
    terms: list[Term]
    rules: list[str]

    def expr(self, terms: list[Term] | None = None) -> E.Expr:
        chosen = self.terms if terms is None else terms
        if not chosen:
            return E.as_expr(0)
        total = chosen[0].expr()
        for term in chosen[1:]:
            total = total + term.expr()
        return total

    def cyclic(self) -> list[Term]:
        """Each term as c · tr(G dX): transposed first when it holds dXᵀ
        (tr(Aᵀ) = tr(A)), then its factors rotated so dX comes last (tr(A B) = tr(B A))."""
        out = []
        hole_t = E.Transpose.make(self.dx)
        for term in self.terms:
            factors = term.factors
            if any(f is hole_t for f in factors):
                factors = tuple(s.transpose(f) for f in reversed(factors))
            at = next(i for i, f in enumerate(factors) if f is self.dx)
            rotated = factors[at + 1 :] + factors[:at] + (self.dx,)
            out.append(Term(term.coefficient, rotated, term.traced or len(rotated) > 1))
        return out

    def coefficient(self) -> E.Expr:
        """M in df = tr(M dX): the sum of c G over the cyclic terms."""
        total: E.Expr | None = None
        for term in self.cyclic():
            before = term.factors[:-1]
            if before:
                g = before[0]
                for factor in before[1:]:
                    g = g @ factor
            else:
                g = C.eye(self.x.shape[1]) if self.x.shape[1] != 1 else E.as_expr(1)
            part = g if _is_one(term.coefficient) else term.coefficient * g
            total = part if total is None else total + part
        return E.as_expr(0) if total is None else total


def _is_one(c: E.Expr) -> bool:
    return isinstance(c, E.Const) and c.value == 1


def expand(f: E.Expr, x: E.Variable) -> Differential:
    """df in terms of dX, by the rules above; Unsupported when one does not apply."""
    taken = set(E.variables(f))
    name = "d" + x.name
    while name in taken:  # tr(X dX): the differential needs a name of its own
        name = "d" + name
    dx = (
        C.matrix(name, *x.shape)
        if x.kind == "matrix"
        else C.vector(name, x.shape[0])
        if x.kind == "vector"
        else C.scalar(name)
    )
    rules: list[str] = []
    memo: dict[int, list[Term]] = {}
    for node in E.postorder(f):  # children first: each node's terms from its arguments'
        memo[id(node)] = _terms(node, x, dx, memo, rules)
    return Differential(x, dx, memo[id(f)], list(dict.fromkeys(rules)))


def _terms(node: E.Expr, x: E.Variable, dx: E.Variable, memo, rules: list[str]) -> list[Term]:
    if node is x:
        return [Term(E.as_expr(1), (dx,))]
    if not node.args or all(not memo[id(a)] for a in node.args):
        return []  # no X below: a constant of the differential
    rule = RULES.get(type(node))
    if rule is not None:
        rules.append(rule)
    args = [memo[id(a)] for a in node.args]
    if isinstance(node, E.Add | E.Sub):
        right = args[1] if isinstance(node, E.Add) else [t.scaled(E.as_expr(-1)) for t in args[1]]
        return _elementwise_sum(node, args[0], right)
    if isinstance(node, E.Neg):
        return [t.scaled(E.as_expr(-1)) for t in args[0]]
    if isinstance(node, E.Mul | E.Div | E.Pow):
        return _scalar_rule(node, args)
    if isinstance(node, E.MatMul):
        p, q = node.args
        return [_append(t, q) for t in args[0]] + [_prepend(p, t) for t in args[1]]
    if isinstance(node, E.Transpose):
        return [
            Term(t.coefficient, tuple(s.transpose(f) for f in reversed(t.factors)), t.traced)
            for t in args[0]
        ]
    if isinstance(node, E.Trace):
        return [Term(t.coefficient, t.factors, True) for t in args[0]]
    if isinstance(node, E.Inv):
        return [Term(s.simplify(-t.coefficient), (node, *t.factors, node)) for t in args[0]]
    if isinstance(node, E.LogDet | E.Det):
        inverse = C.inv(node.args[0])
        scale = node if isinstance(node, E.Det) else E.as_expr(1)
        return [Term(t.coefficient, (inverse, *t.factors), True).scaled(scale) for t in args[0]]
    if isinstance(node, E.Sum) and node.axis is None:
        p = node.args[0]
        row = C.ones(p.shape[0]).T
        column = (C.ones(p.shape[1]),) if p.shape[1] != 1 else ()
        return [Term(t.coefficient, (row, *t.factors, *column), t.traced) for t in args[0]]
    if isinstance(node, E.Norm) and not args[0][0].traced:
        p = node.args[0]
        return [
            Term(t.coefficient, (s.transpose(p), *t.factors), True).scaled(1 / node)
            for t in args[0]
        ]
    if isinstance(node, E.Apply) and node.is_scalar:
        entry = FUNCTIONS[node.fn]
        if entry.derivative is None:
            return []
        slope = entry.derivative(s, node.args[0], node)
        return [t.scaled(slope) for t in args[0]]
    raise UnsupportedError(type(node).__name__)


def _elementwise_sum(node: E.Expr, left: list[Term], right: list[Term]) -> list[Term]:
    if any(a.shape != node.shape for a in node.args):
        raise UnsupportedError("a broadcast sum")
    return left + right


def _scalar_rule(node: E.Expr, args: list[list[Term]]) -> list[Term]:
    """Scaling by a scalar that X does not reach; the product and quotient rules of
    scalars; s^k for a constant k.  A Hadamard product or quotient of matrices has
    no rule here."""
    a, b = node.args
    da, db = args
    if isinstance(node, E.Pow):
        if db or not a.is_scalar:
            raise UnsupportedError("a power of a matrix, or a power of X")
        return [t.scaled(s.simplify(b * a ** (b - 1))) for t in da]
    if not b.is_scalar and (isinstance(node, E.Div) or not a.is_scalar):
        raise UnsupportedError("a Hadamard product or quotient")
    if (da and not b.is_scalar) or (db and not a.is_scalar):
        raise UnsupportedError("a scalar of X times a matrix")
    if isinstance(node, E.Mul):  # d(a b) = b da + a db
        return [t.scaled(b) for t in da] + [t.scaled(a) for t in db]
    # d(a / b) = da / b − a db / b²
    return [t.scaled(1 / b) for t in da] + [t.scaled(s.simplify(-a / b**2)) for t in db]


def _append(term: Term, q: E.Expr) -> Term:
    return Term(term.coefficient, (*term.factors, *E.matmul_factors(q)), term.traced)


def _prepend(p: E.Expr, term: Term) -> Term:
    return Term(term.coefficient, (*E.matmul_factors(p), *term.factors), term.traced)


def applies(f: E.Expr, x: E.Variable) -> bool:
    """Does f reach X the way differentials say best: X a matrix, or through a trace,
    determinant or inverse, or X more than once in one product (a quadratic form)?"""
    order = E.postorder(f)
    if x.kind == "matrix" or any(isinstance(n, E.Trace | E.Det | E.LogDet | E.Inv) for n in order):
        return True
    return any(
        isinstance(n, E.MatMul) and sum(factor is x or factor is E.Transpose.make(x)
                                        for factor in E.matmul_factors(n)) > 1
        for n in order
    )  # fmt: skip
