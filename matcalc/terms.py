"""Sums as terms, shared by the simplifier and check's canonical form.

A sum is Σ cᵢ tᵢ: numbers (or size expressions) cᵢ and terms tᵢ.  Nodes are
interned, so like terms are the same object and collect by identity.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from . import expr as E
from .dims import Shape

Terms = list[tuple[sympy.Expr, E.Expr]]
ONE = E.Const.make(sympy.Integer(1))  # the term of a constant: c = c · 1


def linear_terms(node: E.Expr, expand: bool = False) -> Terms:
    """node as Σ cᵢ tᵢ, like terms collected: walks + − and unary −, and reads
    constant factors.  expand: also distribute a factor over a sum, c (a + b) =
    c a + c b (the canonical form's expansion; the simplifier keeps c (a + b))."""
    found: Terms = []
    stack: list[tuple[sympy.Expr, E.Expr]] = [(sympy.Integer(1), node)]
    while stack:
        coef, item = stack.pop()
        if isinstance(item, E.Add | E.Sub):
            sign = 1 if isinstance(item, E.Add) else -1
            stack.append((coef * sign, item.b))
            stack.append((coef, item.a))
        elif isinstance(item, E.Neg):
            stack.append((-coef, item.a))
        elif isinstance(item, E.Zero):
            continue
        elif isinstance(item, E.Const):
            found.append((coef * item.value, ONE))
        elif isinstance(item, E.Mul) and isinstance(item.a, E.Const) and item.b.shape == item.shape:
            if expand:
                stack.append((coef * item.a.value, item.b))
            else:
                found.append((coef * item.a.value, item.b))
        else:
            found.append((coef, item))
    return collect(found)


def like_key(term: E.Expr) -> object:
    """What like terms share: the node itself, except that a matrix product is its
    chain of factors, (A B) C and A (B C) alike (the product is associative), and a
    transpose the key of what it transposes: ∂ tr(A⁴)/∂A gathers four (A A A)ᵀ
    however the chain rule grouped them."""
    if isinstance(term, E.Transpose) and isinstance(term.a, E.MatMul):
        return ("T", like_key(term.a))
    if isinstance(term, E.MatMul):
        return ("@", *(id(f) for f in E.matmul_factors(term)))
    return id(term)


def collect(terms: Terms) -> Terms:
    """Like terms merged (in the order they first appear), zero terms dropped."""
    merged: dict[object, list] = {}
    for coef, term in terms:
        key = like_key(term)
        entry = merged.get(key)
        if entry is None:
            merged[key] = [coef, term]
        else:
            entry[0] = sympy.expand(entry[0] + coef)
    return [(c, t) for c, t in merged.values() if c != 0]


def negative(coef: sympy.Expr) -> bool:
    if isinstance(coef, sympy.Rational):  # fast path: an integer compare, no sympify
        return coef.p < 0
    if coef.is_Number:  # sympy's assumption system is slow on big rationals
        return bool(coef < 0)
    return bool(coef.could_extract_minus_sign())


def rebuild(
    terms: Terms,
    shape: Shape,
    scaled: Callable[[sympy.Expr, E.Expr], E.Expr],
    signed: bool = True,
    negate: Callable[[E.Expr], E.Expr] = E.Neg.make,
) -> E.Expr:
    """Σ cᵢ tᵢ as a sum node: a − b for a negative coefficient when signed (as a
    reader writes it), else a + (−1) b; scaled(c, t) writes one term.  A sum
    whose broadcasting terms cancelled is stretched back to its shape by 𝟏."""
    if not terms:
        return E.Zero.make(*shape) if shape != (1, 1) else E.Const.make(sympy.Integer(0))
    first_coef, first_term = terms[0]
    if signed and negative(first_coef):
        result = negate(scaled(-first_coef, first_term))
    else:
        result = scaled(first_coef, first_term)
    for coef, term in terms[1:]:
        if signed and negative(coef):
            result = E.Sub.make(result, scaled(-coef, term))
        else:
            result = E.Add.make(result, scaled(coef, term))
    if result.shape != shape:
        result = E.Mul.make(E.Ones.make(*shape), result)
    return result
