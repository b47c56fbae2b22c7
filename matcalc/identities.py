"""The identity that turns one step of a proof into the next, when one does.

``identity_between(before, after, …)`` finds the one place where the two
steps differ (the smallest pair of subexpressions, everything around them
equal) and asks each identity below whether it rewrites one into the other.
The identities are the lecture's (Part I, matrix-calculus review; the Matrix
Cookbook §2 and §10):

- (A B)ᵀ = Bᵀ Aᵀ, (A + B)ᵀ = Aᵀ + Bᵀ, (Aᵀ)ᵀ = A, and aᵀ = a for a scalar;
- A (B + C) = A B + A C, and for ⊙ (distributivity, either way);
- tr(A B C) = tr(B C A) (the cyclic property of the trace);
- diag(u) v = u ⊙ v (the Jacobian of an elementwise function is diagonal);
- ‖x‖² = xᵀ x;  a ⊙ b = b ⊙ a;
- f′ written out from the catalogue (σ′ = σ(1 − σ), tanh′ = 1 − tanh²);
- a definition unfolded (z replaced by W x + b) or folded back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import sympy

from . import constructors as C
from . import expr as E
from .builder import CALLS, prime_call
from .canonical import canonical
from .errors import MatcalcError
from .functions import FUNCTIONS
from .printing import text

ASSOCIATIVE = (E.MatMul, E.Mul, E.Add)


def _key(e: E.Expr) -> tuple:
    """The tree with chains of one associative product or sum flattened: A (B C) and
    (A B) C have one key, and nothing else is normalised (a rewrite is named only
    when it is the whole difference)."""
    if isinstance(e, ASSOCIATIVE):
        items: list[E.Expr] = []
        stack: list[E.Expr] = [e]
        while stack:
            node = stack.pop()
            if type(node) is type(e):
                stack.extend(node.args[::-1])
            else:
                items.append(node)
        return (type(e).__name__, tuple(_key(item) for item in items))
    if isinstance(e, E.Ones) and e.is_vector:  # 𝟏 − a and 1 − a are one step
        return ("Const", (1,), ())
    return (type(e).__name__, e.params(), tuple(_key(a) for a in e.args))


def _same(a: E.Expr, b: E.Expr) -> bool:
    return a is b or _key(a) == _key(b)


def _differing(before: E.Expr, after: E.Expr) -> list[tuple[E.Expr, E.Expr]]:
    """The pairs of subtrees along the path to where the two differ, deepest first
    (everything beside the path equal), so tr(A B) → tr(B A) is seen at the trace."""
    path = [(before, after)]
    while (
        type(before) is type(after)
        and before.params() == after.params()
        and len(before.args) == len(after.args)
        and before.args
    ):
        different = [
            i for i, (a, b) in enumerate(zip(before.args, after.args, strict=True)) if a is not b
        ]
        if len(different) != 1:
            break
        before, after = before.args[different[0]], after.args[different[0]]
        path.append((before, after))
    return path[::-1]


def _product(factors: list[E.Expr]) -> E.Expr:
    result = factors[0]
    for factor in factors[1:]:
        result = result @ factor
    return result


# each identity: the forms it rewrites p into (tried against q, both ways)
def _transpose_rules(p: E.Expr) -> Iterator[tuple[E.Expr, str]]:
    if isinstance(p, E.Transpose):
        inner = p.args[0]
        if isinstance(inner, E.MatMul):
            factors = E.matmul_factors(inner)
            for cut in range(1, len(factors)):
                left, right = _product(factors[:cut]), _product(factors[cut:])
                yield right.T @ left.T, "the transpose of a product, (A B)ᵀ = Bᵀ Aᵀ"
            reversed_factors = [factor.T for factor in factors[::-1]]
            yield _product(reversed_factors), "the transpose of a product, (A B)ᵀ = Bᵀ Aᵀ"
        if isinstance(inner, E.Add | E.Sub):
            a, b = inner.args
            summed = a.T + b.T if isinstance(inner, E.Add) else a.T - b.T
            yield summed, "the transpose of a sum, (A + B)ᵀ = Aᵀ + Bᵀ"
        if isinstance(inner, E.Transpose):
            yield inner.args[0], "(Aᵀ)ᵀ = A"
    if p.is_scalar and not isinstance(p, E.Const):
        yield E.Transpose.make(p), "a scalar is its own transpose, aᵀ = a"


def _distributive_rules(p: E.Expr) -> Iterator[tuple[E.Expr, str]]:
    if isinstance(p, E.MatMul | E.Mul):
        a, b = p.args
        build = (lambda u, v: u @ v) if isinstance(p, E.MatMul) else (lambda u, v: u * v)
        for inner, outer, left in ((b, a, True), (a, b, False)):
            if isinstance(inner, E.Add | E.Sub):
                u, v = inner.args
                first = build(outer, u) if left else build(u, outer)
                second = build(outer, v) if left else build(v, outer)
                combined = first + second if isinstance(inner, E.Add) else first - second
                yield combined, "distributivity, A (B + C) = A B + A C"
    if isinstance(p, E.Mul) and not (p.args[0].is_scalar or p.args[1].is_scalar):
        yield p.args[1] * p.args[0], "⊙ commutes, a ⊙ b = b ⊙ a"


def _trace_rules(p: E.Expr) -> Iterator[tuple[E.Expr, str]]:
    if isinstance(p, E.Trace):
        factors = E.matmul_factors(p.args[0])
        for shift in range(1, len(factors)):
            rotated = factors[shift:] + factors[:shift]
            try:
                yield C.trace(_product(rotated)), "the cyclic property, tr(A B C) = tr(B C A)"
            except MatcalcError:
                continue
        yield C.trace(p.args[0].T), "tr(Aᵀ) = tr(A)"


def _diagonal_rules(p: E.Expr) -> Iterator[tuple[E.Expr, str]]:
    if isinstance(p, E.MatMul) and isinstance(p.args[0], E.Diag):
        yield p.args[0].args[0] * p.args[1], "diag(u) v = u ⊙ v"
    if isinstance(p, E.Pow) and isinstance(p.args[0], E.Norm):
        x = p.args[0].args[0]
        if x.is_vector and p.args[1] is E.as_expr(2):
            yield x.T @ x, "‖x‖² = xᵀ x"


def _small_rules(p: E.Expr) -> Iterator[tuple[E.Expr, str]]:
    if isinstance(p, E.Add) and p.args[0] is p.args[1]:
        yield 2 * p.args[0], "like terms collected, a + a = 2a"
    if isinstance(p, E.Sum) and p.axis is None and p.args[0].is_vector:
        x = p.args[0]
        yield C.ones(*x.shape).T @ x, "sum(x) = 𝟏ᵀ x"
    if isinstance(p, E.Transpose) and isinstance(p.args[0], E.Variable) and p.args[0].symmetric:
        yield p.args[0], f"{p.args[0].name}ᵀ = {p.args[0].name} ({p.args[0].name} is symmetric)"
    if isinstance(p, E.Inv) and isinstance(p.args[0], E.Transpose):
        yield C.inv(p.args[0].args[0]).T, "(Xᵀ)⁻¹ = (X⁻¹)ᵀ"
    if isinstance(p, E.MatMul) and isinstance(p.args[1], E.Identity):
        yield p.args[0], "A I = A"
    if isinstance(p, E.MatMul) and isinstance(p.args[0], E.Identity):
        yield p.args[1], "I A = A"
    if isinstance(p, E.MatMul) and p.args[0].is_scalar != p.args[1].is_scalar:
        yield p.args[1] * p.args[0], "a scalar factor commutes"
    if isinstance(p, E.Mul) and (p.args[0].is_scalar or p.args[1].is_scalar):
        yield p.args[1] * p.args[0], "a scalar factor commutes"


RULES: tuple[Callable[[E.Expr], Iterator[tuple[E.Expr, str]]], ...] = (
    _transpose_rules, _distributive_rules, _trace_rules, _diagonal_rules, _small_rules,
)  # fmt: skip


def _rewrites(p: E.Expr, q: E.Expr) -> str:
    for rule in RULES:
        for candidate, name in _safe(rule, p):
            if _same(candidate, q):
                return name
    return ""


def _safe(rule, p: E.Expr) -> list[tuple[E.Expr, str]]:
    out = []
    try:
        for found in rule(p):
            out.append(found)
    except MatcalcError:
        pass
    return out


def derivative_identity(function: str) -> str:
    """f′ as the catalogue states it: σ′ = σ(1 − σ), tanh′ = 1 − tanh², relu′(z) = step(z)."""
    entry = FUNCTIONS[function]
    if entry.derivative_of_value is not None:
        value = sympy.Symbol(entry.text)
        return f"{entry.text}′ = {_scalar_text(entry.derivative_of_value(value))}"
    z = C.vector("z", "n")
    return f"{entry.text}′(z) = {text(CALLS[prime_call(function)](z))}"


def _scalar_text(value: sympy.Expr) -> str:
    shown = sympy.sstr(value).replace("**2", "²").replace("*", "")
    return shown.replace("-", "−").replace("(−", "(−")


def identity_between(
    before: E.Expr,
    after: E.Expr,
    expand: Callable[[E.Expr], E.Expr],
    intermediates: Mapping[str, str],
    primes_before: tuple[str, ...] = (),
    primes_after: tuple[str, ...] = (),
    values_of: Mapping[str, str] | None = None,
) -> str:
    """The identity that turns before into after, or "" when no single one does.

    values_of maps a name defined as f(…) (a = σ(z)) to f.  intermediates maps each
    intermediate's name to how it is shown (∂C/∂a for a
    derivative standing in a step).  expand replaces every intermediate by its
    definition: when the steps differ
    only once their definitions are unfolded, the definitions are named too.
    """
    notes = [
        derivative_identity(name)
        for name in sorted(set(primes_before) ^ set(primes_after))
        # σ′ spelled out on the other side: σ(z), or a name for it (a = σ(z))
        if _applies(before if name in primes_after else after, name, values_of or {})
    ]
    found = _one_rewrite(before, after)
    if found is None:
        used = sorted((set(E.variables(before)) | set(E.variables(after))) & set(intermediates))
        derivatives = [intermediates[name] for name in used if intermediates[name] != name]
        defined = [name for name in used if intermediates[name] == name]
        if derivatives:
            notes.append(f"{', '.join(derivatives)} worked out")
        if defined:
            notes.append(f"the definition of {', '.join(defined)}")
            found = _one_rewrite(expand(before), expand(after))
    if found is None:
        return ""
    return "; ".join(part for part in (found, *notes) if part) or "the same expression"


def _applies(expr: E.Expr, function: str, values_of: Mapping[str, str]) -> bool:
    """Does expr apply function, itself or by a name defined as its value?"""
    return any(
        (isinstance(node, E.Apply) and node.fn == function)
        or (isinstance(node, E.Variable) and values_of.get(node.name) == function)
        for node in E.postorder(expr)
    )


def _one_rewrite(before: E.Expr, after: E.Expr) -> str | None:
    """ "" when the two are the same tree, the rewrite's name when one turns one into
    the other, and None when none does."""
    if _same(before, after):
        return ""
    path = _differing(before, after)
    for p, q in path:
        found = _rewrites(p, q) or _rewrites(q, p)
        if found:
            return found
    p, q = path[0]
    return "multiplying out and collecting terms" if _expanded_alike(p, q) else None


def _expanded_alike(p: E.Expr, q: E.Expr) -> bool:
    """Products multiplied out, transposes pushed in, like terms collected: the
    canonical form, which keeps functions and inverses as they are."""
    a, b = canonical(p), canonical(q)
    return a is not None and a is b
