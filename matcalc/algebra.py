"""Elementwise algebra by sympy: a Hadamard island is scalar algebra.

A maximal elementwise island (⊙, ⊘, +, −, scalar factors, constant powers
over one broadcast shape) computes, entry by entry, a rational function of
its leaves: the matrix products, reductions and function values below it.
Mapped to one sympy expression (a commutative symbol per leaf; σ(t) a
symbol s with σ(−t) = 1 − s and σ′(t) = s(1 − s); tanh(t) a symbol u with
tanh(−t) = −u and tanh′(t) = 1 − u², as the catalogue's ``reflection`` and
``derivative_of_value`` say), sympy cancels and factors it, and
the smallest of the forms, mapped back, replaces the island.  That is what
turns the cross-entropy gradient ((1 − y) ⊘ (1 − σ) − y ⊘ σ) ⊙ σ′ into
σ − y (Bishop, PRML §4.3.2), and y ⊙ (1 ⊘ s) ⊙ s into y.

Sympy does the algebra; this module owns the mapping, and only calls sympy
where something can cancel (``worth_trying``: a quotient, a negated σ or tanh
argument, or a sum whose sides share a leaf), so a deep network's δ recursion
costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from . import expr as E
from . import simplifier as s
from .functions import FUNCTIONS
from .printing import named_derivatives

ELEMENTWISE = (E.Add, E.Sub, E.Mul, E.Div, E.Neg, E.Pow)
# Islands larger than this are left as they are: sympy's cancel grows fast with
# size, and a textbook form is small (bounded work on a 3000-deep recurrence).
MAX_ISLAND = 80
MAX_OPERATIONS = 60  # the same bound on the island's sympy image (σ′ = σ(1 − σ) spelled out)


class IslandTooLargeError(Exception):
    """The island has more than MAX_ISLAND nodes."""


def is_elementwise(node: E.Expr) -> bool:
    if isinstance(node, E.Pow):
        return isinstance(node.b, E.Const) and bool(node.b.value.is_number)
    return isinstance(node, ELEMENTWISE)


def _negative_exponent(node: E.Pow) -> bool:
    exponent = node.b
    return isinstance(exponent, E.Const) and bool(exponent.value.is_negative)


def tree_size(
    expr: E.Expr,
    primes: dict[int, tuple[str, E.Expr]] | None = None,
    known: dict[int, int] | None = None,
) -> int:
    """Nodes of the printed tree (a shared node counts at each use; σ′(z) is one
    node over z, as it prints).  known: sizes already counted, not walked again."""
    primes = named_derivatives(expr) if primes is None else primes
    size = {} if known is None else known
    stack: list[tuple[E.Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in size:
            continue
        below = [primes[id(node)][1]] if id(node) in primes else list(node.args)
        if expanded or not below:
            size[id(node)] = 1 + sum(size[id(c)] for c in below)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in below if id(c) not in size)
    return size[id(expr)]


@dataclass
class Island:
    """The sympy image of one island: a symbol per leaf, and the way back."""

    symbols: dict[int, sympy.Symbol] = field(default_factory=dict)
    leaves: dict[sympy.Symbol, E.Expr] = field(default_factory=dict)

    def leaf(self, node: E.Expr) -> sympy.Expr:
        if isinstance(node, E.Apply) and isinstance(node.a, E.Neg):
            reflection = FUNCTIONS[node.fn].reflection
            if reflection is not None:  # σ(−t) = 1 − σ(t): a relation sympy can use
                return reflection(self.leaf(E.Apply.make(node.fn, node.a.a)))
        symbol = self.symbols.get(id(node))
        if symbol is None:
            symbol = sympy.Symbol(f"leaf{len(self.symbols)}")
            self.symbols[id(node)] = symbol
            self.leaves[symbol] = node
        return symbol

    def image(self, root: E.Expr, primes: dict[int, tuple[str, E.Expr]]) -> sympy.Expr:
        """root as a sympy expression of its leaves (iteratively: islands can be long)."""
        done: dict[int, sympy.Expr] = {}
        stack: list[tuple[E.Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            inside = node is root or (is_elementwise(node) and id(node) not in primes)
            if not inside:
                done[id(node)] = self._leaf_or_prime(node, primes)
                continue
            if not expanded:
                if len(done) + len(stack) > MAX_ISLAND:
                    raise IslandTooLargeError
                stack.append((node, True))
                stack.extend((c, False) for c in node.args)
                continue
            done[id(node)] = self._combine(node, [done[id(c)] for c in node.args])
        return done[id(root)]

    def _leaf_or_prime(self, node: E.Expr, primes: dict[int, tuple[str, E.Expr]]) -> sympy.Expr:
        if isinstance(node, E.Const):
            return node.value
        if id(node) in primes:  # σ′(z) = σ(z)(1 − σ(z)), tanh′ = 1 − tanh², from the catalogue
            fn, z = primes[id(node)]
            from_value = FUNCTIONS[fn].derivative_of_value
            if from_value is not None:
                return from_value(self.leaf(E.Apply.make(fn, z)))
        return self.leaf(node)

    def _combine(self, node: E.Expr, args: list[sympy.Expr]) -> sympy.Expr:
        if isinstance(node, E.Add):
            return args[0] + args[1]
        if isinstance(node, E.Sub):
            return args[0] - args[1]
        if isinstance(node, E.Mul):
            return args[0] * args[1]
        if isinstance(node, E.Div):
            return args[0] / args[1]
        if isinstance(node, E.Neg):
            return -args[0]
        if isinstance(node, E.Pow):
            return args[0] ** args[1]
        return self.leaf(node)  # pragma: no cover - only elementwise nodes are combined

    def back(self, value: sympy.Expr) -> E.Expr:
        """A sympy expression of the leaves as a matcalc expression."""
        if value.is_Symbol and value in self.leaves:
            return self.leaves[value]
        if not (value.free_symbols & set(self.leaves)):
            return s.const(value)  # a number, or a size such as n
        if value.is_Add:  # the whole sum built raw, then collected once (not term by term)
            terms = sorted(value.args, key=_term_order)
            total = self.back(terms[0])
            for term in terms[1:]:
                coefficient, rest = term.as_coeff_Mul()
                if coefficient.is_negative:
                    total = E.Sub.make(total, self.back(-term))
                else:
                    total = E.Add.make(total, self.back(term))
            return s.simplify_node(total)
        if value.is_Mul:
            numerator, denominator = sympy.fraction(value)
            if denominator != 1:
                return s.div(self.back(numerator), self.back(denominator))
            coefficient, rest = value.as_coeff_Mul()
            if coefficient == -1:
                return s.neg(self.back(rest))
            factors = [self.back(f) for f in sympy.Mul.make_args(rest)]
            product = factors[0]
            for factor in factors[1:]:
                product = s.mul(product, factor)
            return product if coefficient == 1 else s.mul(s.const(coefficient), product)
        if value.is_Pow:
            base, exponent = value.args
            if exponent.is_negative:
                return s.div(s.const(1), self.back(base ** (-exponent)))
            return s.power(self.back(base), s.const(exponent))
        raise ValueError(value)  # another sympy form: the island is kept as it was


def _term_order(term: sympy.Expr) -> tuple[int, str]:
    """Positive terms first (σ − y, not −y + σ), then sympy's order."""
    coefficient, _ = term.as_coeff_Mul()
    return (1 if coefficient.is_negative else 0, sympy.default_sort_key(term).__str__())


def worth_trying(root: E.Expr, primes: dict[int, tuple[str, E.Expr]]) -> bool:
    """Whether sympy could make the island smaller: a quotient or negative power,
    σ(−t) or tanh(−t), or a sum whose two sides share a leaf (σ(z) inside σ′(z)
    counted), which may cancel or factor.  A scan of ids, no sympy: most islands
    (a δ, (a − y) ⊙ σ′(z)) have none.  Structural matrices keep the island as is."""
    leaves: dict[int, frozenset[int]] = {}
    stack: list[tuple[E.Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in leaves:
            continue
        if id(node) in primes:
            fn, z = primes[id(node)]
            leaves[id(node)] = frozenset({id(E.Apply.make(fn, z))})  # σ′(z) stands on σ(z)
            continue
        if not (node is root or is_elementwise(node)):
            if isinstance(node, E.Identity | E.Ones | E.Zero | E.Diag):
                return False
            if isinstance(node, E.Apply) and isinstance(node.a, E.Neg):
                if FUNCTIONS[node.fn].reflection is not None:
                    return True
            leaves[id(node)] = frozenset() if isinstance(node, E.Const) else frozenset({id(node)})
            continue
        if isinstance(node, E.Div) or (isinstance(node, E.Pow) and _negative_exponent(node)):
            return True
        if not expanded:
            if len(leaves) + len(stack) > MAX_ISLAND:
                return False
            stack.append((node, True))
            stack.extend((c, False) for c in node.args)
            continue
        below = [leaves[id(c)] for c in node.args]
        if isinstance(node, E.Add | E.Sub) and below[0] & below[1]:
            return True
        leaves[id(node)] = frozenset().union(*below)
    return False


def simplify_island(
    root: E.Expr,
    primes: dict[int, tuple[str, E.Expr]],
    sizes: dict[int, int],
    keep: list[E.Expr],
) -> E.Expr:
    """The smallest of root and sympy's cancelled and factored forms of it
    (sizes: the printed sizes counted so far, by id, shared by the whole pass;
    keep holds every node counted, so that no id is reused while sizes lives)."""
    if not worth_trying(root, primes):
        return root
    island = Island()
    try:
        image = island.image(root, primes)
    except IslandTooLargeError:
        return root
    best, best_size = root, tree_size(root, primes, sizes)
    operations = sympy.count_ops(image)
    if operations > MAX_OPERATIONS:
        return root  # sympy's cancel and factor take seconds past this; bounded work
    for form in (sympy.cancel(image), sympy.factor(image)):
        if sympy.count_ops(form) > operations:
            continue  # larger in sympy's count: it will not print smaller
        try:
            candidate = island.back(form)
        except (ValueError, TypeError):
            continue
        keep.append(candidate)
        if candidate.shape != root.shape:
            continue  # a broadcast operand cancelled out: keep the shape it had
        size = tree_size(candidate, primes, sizes)
        if size < best_size:
            best, best_size = candidate, size
    return best


def elementwise_algebra(*roots: E.Expr) -> list[E.Expr]:
    """The roots with each maximal elementwise island replaced by its smallest form
    (one pass over their shared DAG: a network's gradients share their δs)."""
    order = E.postorder(*roots)
    primes = named_derivatives(order=order)
    parents_elementwise: dict[int, bool] = {}
    for node in order:
        inside = is_elementwise(node) and id(node) not in primes
        for child in node.args:
            parents_elementwise[id(child)] = parents_elementwise.get(id(child), True) and inside
    for root in roots:  # a result is the root of its island, whoever else uses it
        parents_elementwise[id(root)] = False
    done: dict[int, E.Expr] = {}
    sizes: dict[int, int] = {}
    keep: list[E.Expr] = []
    for node in order:
        children = node.args
        if not children:
            done[id(node)] = node
            continue
        args = tuple(done[id(a)] for a in children)
        rebuilt = node
        if any(new is not old for new, old in zip(args, children, strict=True)):
            rebuilt = s.simplify_node(node.with_args(*args))
            keep.append(rebuilt)
        root_of_island = is_elementwise(node) and not parents_elementwise.get(id(node), False)
        if root_of_island and id(node) not in primes:
            rebuilt = simplify_island(rebuilt, primes, sizes, keep)
        done[id(node)] = rebuilt
    return [done[id(root)] for root in roots]


def gather_transposes(*roots: E.Expr) -> list[E.Expr]:
    """A product of three or more transposed factors as the transpose of the
    reversed product, which is smaller: −X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ = −(X⁻¹ B A X⁻¹)ᵀ (MC (63)).

    The simplifier pushes transposes to the leaves (its normal form); this is
    the form a result is shown in, so it builds the outer transpose as is."""
    done: dict[int, E.Expr] = {}
    parents_matmul: set[int] = set()
    order = E.postorder(*roots)
    if not any(_transposed_pair(node) for node in order):
        return list(roots)  # no product has two transposed factors side by side
    for node in order:
        if isinstance(node, E.MatMul):
            parents_matmul.update(id(c) for c in node.args)
    for node in order:
        args = tuple(done[id(c)] for c in node.args)
        rebuilt = node if args == node.args else node.with_args(*args)
        if isinstance(node, E.MatMul) and id(node) not in parents_matmul:
            factors = E.matmul_factors(rebuilt)
            if len(factors) >= 3 and all(isinstance(f, E.Transpose) for f in factors):
                inner = factors[-1].args[0]
                for factor in reversed(factors[:-1]):
                    inner = E.MatMul.make(inner, factor.args[0])
                rebuilt = E.Transpose.make(inner)
        done[id(node)] = rebuilt
    return [done[id(root)] for root in roots]


def _transposed_pair(node: E.Expr) -> bool:
    if not isinstance(node, E.MatMul):
        return False
    a, b = node.args
    right = isinstance(b, E.Transpose)
    return right and (isinstance(a, E.Transpose) or isinstance(a, E.MatMul))


def textbook_forms(*results: E.Expr) -> list[E.Expr]:
    """Derived results as a textbook prints them: elementwise islands at their
    smallest, transposes gathered over long products."""
    return gather_transposes(*elementwise_algebra(*results))
