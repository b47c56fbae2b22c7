"""The Jacobian chain rule over the expression DAG.

``grad`` accumulates in reverse: every node's gradient ḡ (shaped like the
node) is pushed to its children through the local Jacobians of
``rules.RULES``, ḡ_child += J_childᵀ ḡ, visiting each node once, so a shared
subexpression is differentiated once.  ``jacobian`` accumulates forward:
J_node = Σ ∂node/∂child · J_child, as numerator-layout matrices.
A recorder, if given, sees each application of a local rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import overload

from . import expr as E
from . import simplifier as s
from .algebra import textbook_forms
from .dims import format_shape, vector_length
from .errors import DerivativeError
from .jacobian import LinearMap, NotVectorialError
from .rules import RULES

Recorder = Callable[[E.Expr, int, LinearMap, E.Expr, E.Expr], None]


def check_variable(op: str, x: object) -> E.Variable:
    if not isinstance(x, E.Variable):
        shown = E.describe(x) if isinstance(x, E.Expr) else repr(x)
        hint = (
            f"; a parsed formula's variable is mc.variables(f)[{x!r}]" if isinstance(x, str) else ""
        )
        raise DerivativeError(
            f"{op}: can only differentiate with respect to a variable (made by mc.scalar, "
            f"mc.vector or mc.matrix), not {shown}{hint}"
        )
    return x


def dependents(
    order: list[E.Expr], targets: Sequence[E.Expr], frozen: frozenset[int] = frozenset()
) -> set[int]:
    """ids of the nodes in order that depend on any target (not through frozen nodes)."""
    needed = {id(t) for t in targets}
    for node in order:
        if id(node) not in frozen and any(id(child) in needed for child in node.args):
            needed.add(id(node))
    return needed


def local_dependents(
    root: E.Expr, target: E.Expr, frozen: frozenset[int] | set[int] = frozenset()
) -> tuple[list[E.Expr], set[int]]:
    """The nodes between root and target, children first, and the ids of those that
    depend on target, where the nodes in frozen (ids) count as constants; root and
    target themselves never do, so a derivation passes its set of named nodes as it
    is (no copy per local Jacobian).

    A local Jacobian ∂u/∂v between two named intermediates treats the named nodes
    as constants, so only the nodes from u down to the names below it matter: the
    walk enters neither a frozen node nor v (nothing below v depends on v) and
    costs that local size, where ``E.postorder(u)`` would cost u's whole history
    (the full network below u: quadratic in depth over a derivation)."""
    order = E.postorder(  # a constant here, or the variable: listed, not entered
        root, leaf=lambda n: n is not root and (n is target or id(n) in frozen)
    )
    needed = {id(target)}
    for node in order:
        open_node = node is root or id(node) not in frozen
        if open_node and any(id(child) in needed for child in node.args):
            needed.add(id(node))
    return order, needed


def gradients(
    f: E.Expr, wrt: Sequence[E.Variable], recorder: Recorder | None = None
) -> list[E.Expr]:
    """∂f/∂X for each X in wrt, shaped like X, from one reverse sweep."""
    adjoint = reverse_sweep(f, wrt, recorder)
    found = [adjoint[id(x)] for x in wrt if id(x) in adjoint]
    shown = iter(textbook_forms(*found))
    results = []
    for x in wrt:
        result = next(shown) if id(x) in adjoint else s.zero(x.shape)
        if result.shape != x.shape:  # pragma: no cover - a broken rule
            raise AssertionError(f"gradient of {x.name} came out {format_shape(result.shape)}")
        results.append(result)
    return results


def reverse_sweep(
    f: E.Expr, wrt: Sequence[E.Expr], recorder: Recorder | None = None
) -> dict[int, E.Expr]:
    """The gradient ∂f/∂N of every node N on a path from f to wrt, by id(N)."""
    order = E.postorder(f)
    needed = dependents(order, wrt)
    # Contributions to a node's gradient wait until all its parents are done
    # (reverse topological order), then are summed once: ḡ = Σ over parents.
    contributions: dict[int, list[E.Expr]] = {id(f): [s.const(1)]}
    adjoint: dict[int, E.Expr] = {}
    for node in reversed(order):
        pending = contributions.pop(id(node), None)
        if pending is None:
            continue
        g = adjoint[id(node)] = pending[0] if len(pending) == 1 else s.add_all(pending)
        if isinstance(node, E.Variable):
            continue
        for index, child in enumerate(node.args):
            if id(child) not in needed:
                continue
            local = RULES[type(node)](node, index)
            if local is None:
                continue
            contribution = local.vjp(g)
            if recorder is not None:
                recorder(node, index, local, g, contribution)
            contributions.setdefault(id(child), []).append(contribution)
    return adjoint


@overload
def grad(f: object, x: E.Variable) -> E.Expr: ...
@overload
def grad(f: object, x: Sequence[E.Variable]) -> tuple[E.Expr, ...]: ...
def grad(f: object, x: E.Variable | Sequence[E.Variable]) -> E.Expr | tuple[E.Expr, ...]:
    """∂f/∂X for a scalar f, shaped like X (the layout of a learning rule X − η ∂f/∂X).

    A list or tuple of variables gives a tuple of gradients from one sweep.
    """
    f = E.as_expr(f, "grad")
    if not f.is_scalar:
        raise DerivativeError(
            f"grad: f must be a scalar but {E.describe(f)} is {format_shape(f.shape)}; "
            "use mc.jacobian for a vector"
        )
    if isinstance(x, list | tuple):
        return tuple(gradients(s.simplify(f), [check_variable("grad", v) for v in x]))
    (result,) = gradients(s.simplify(f), [check_variable("grad", x)])
    return result


def jacobian(f: object, x: E.Variable) -> E.Expr:
    """∂F/∂x in numerator layout, shape (len F, len x), for F and x scalars or vectors."""
    f = E.as_expr(f, "jacobian")
    x = check_variable("jacobian", x)
    rows = vector_length(f.shape)
    cols = vector_length(x.shape)
    if rows is None:
        raise DerivativeError(
            f"jacobian: F must be a scalar or a vector but {E.describe(f)} is "
            f"{format_shape(f.shape)}; use mc.grad of a scalar function of a matrix"
        )
    if cols is None:
        raise DerivativeError(
            f"jacobian: x must be a scalar or a vector but {x.name} is {format_shape(x.shape)}; "
            "use mc.grad for a scalar function of a matrix"
        )
    f = s.simplify(f)
    if f.is_scalar:
        (gradient,) = gradients(f, [x])
        return gradient if gradient.rows == 1 else s.transpose(gradient)
    (result,) = textbook_forms(forward_jacobian(f, x, rows, cols))
    return result


def forward_jacobian(
    f: E.Expr,
    x: E.Expr,
    rows: object,
    cols: object,
    frozen: frozenset[int] | set[int] = frozenset(),
    rules_used: list[str] | None = None,
) -> E.Expr:
    """∂f/∂x accumulated forward; nodes in frozen count as constants (a
    derivation's local Jacobian between two named intermediates; f and x never
    count as frozen).  Only the nodes between f and x are walked (see
    ``local_dependents``)."""
    order, needed = local_dependents(f, x, frozen)
    # With a scalar x every node's derivative is an expression of the node's own
    # shape (the map applied to dx = 1), so matrix intermediates are fine.
    along_scalar = x.is_scalar
    jac: dict[int, E.Expr] = {id(x): s.identity(cols)}
    for node in order:
        if id(node) not in needed or node is x:
            continue
        total: E.Expr | None = None
        for index, child in enumerate(node.args):
            if id(child) not in needed or id(child) not in jac:
                continue
            local = RULES[type(node)](node, index)
            if local is None:
                continue
            if rules_used is not None:
                rules_used.append(local.rule)
            try:
                if along_scalar:
                    term = local.jvp(jac[id(child)])
                else:
                    term = s.matmul(local.matrix(), jac[id(child)])
            except NotVectorialError:
                raise DerivativeError(
                    f"jacobian: {E.describe(node)} is a {format_shape(node.shape)} matrix that "
                    f"depends on {E.describe(x)}; its Jacobian would be a 3-index tensor. Write F "
                    "with vector intermediates, or take mc.grad of each scalar entry"
                ) from None
            total = term if total is None else s.add(total, term)
        if total is not None:
            jac[id(node)] = total
    result = jac.get(id(f))
    if result is None:
        return s.zero((rows, cols))
    return s.transpose(result) if along_scalar and result.rows == 1 else result


def hessian(f: object, x: E.Variable) -> E.Expr:
    """∂²f/∂x∂xᵀ for a scalar f and a vector x: the (n, n) Jacobian of ∇f."""
    f = E.as_expr(f, "hessian")
    x = check_variable("hessian", x)
    if not f.is_scalar:
        raise DerivativeError(
            f"hessian: f must be a scalar but {E.describe(f)} is {format_shape(f.shape)}"
        )
    if not x.is_column:
        raise DerivativeError(
            f"hessian: x must be a column vector but {x.name} is {format_shape(x.shape)}"
        )
    gradient = grad(f, x)
    return jacobian(gradient, x)
