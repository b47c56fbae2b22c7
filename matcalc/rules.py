"""The derivative-rule registry: one rule per operation.

``RULES[NodeType](node, i)`` is the local Jacobian ∂node/∂(argument i) as a
structured ``LinearMap``, or None where it is zero.  Each docstring states
the identity in the lecture's notation (numerator layout: ∂y/∂x has one row
per entry of y).  Sources: Parr & Howard, "The Matrix Calculus You Need for
Deep Learning" (PH); Petersen & Pedersen, "The Matrix Cookbook" (MC).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from . import expr as E
from . import simplifier as s
from .functions import FUNCTIONS
from .jacobian import (
    Broadcast,
    ColumnGradient,
    Composed,
    DiagonalEmbedding,
    DiagonalExtraction,
    Gradient,
    IdentityMap,
    LeftProduct,
    LinearMap,
    Negation,
    RightProduct,
    Sandwich,
    Scaling,
    SoftmaxMap,
    SumAll,
    SumAxis,
    Transposition,
)

Rule = Callable[[E.Expr, int], LinearMap | None]
RULES: dict[type[E.Expr], Rule] = {}


Node = TypeVar("Node", bound=E.Expr)


def rule(
    node_type: type[Node],
) -> Callable[[Callable[[Node, int], LinearMap | None]], Callable[[Node, int], LinearMap | None]]:
    """Register fn as the rule of node_type (it is only ever called with such a node)."""

    def register(
        fn: Callable[[Node, int], LinearMap | None],
    ) -> Callable[[Node, int], LinearMap | None]:
        RULES[node_type] = cast(Rule, fn)
        return fn

    return register


def expanded(node: E.Expr, arg: E.Expr, local: LinearMap) -> LinearMap:
    """local ∘ (scalar expansion or broadcast of arg to node's shape)."""
    if arg.shape == node.shape:
        return local
    name = "scalar expansion" if arg.is_scalar else "broadcast"
    stretch = Broadcast(arg.shape, node.shape, name)
    return Composed(arg.shape, node.shape, name, stretch, local)


def _scaling(node: E.Expr, arg: E.Expr, v: E.Expr, name: str) -> LinearMap:
    return expanded(node, arg, Scaling(node.shape, node.shape, name, v))


def _leaf(node: E.Expr, i: int) -> LinearMap | None:  # pragma: no cover - leaves have no args
    raise IndexError(f"{type(node).__name__} has no arguments")


for _leaf_type in (E.Variable, E.Const, E.Ones, E.Zero, E.Identity):
    RULES[_leaf_type] = _leaf


@rule(E.Neg)
def jacobian_of_negation(node: E.Neg, i: int) -> LinearMap | None:
    """∂(−a)/∂a = −I."""
    return Negation(node.shape, node.shape, "elementwise function")


@rule(E.Add)
def jacobian_of_sum(node: E.Add, i: int) -> LinearMap | None:
    """∂(a + b)/∂a = I, ∂(a + b)/∂b = I  (PH: elementwise binary operations)."""
    arg = node.args[i]
    return expanded(node, arg, IdentityMap(node.shape, node.shape, "elementwise binary operation"))


@rule(E.Sub)
def jacobian_of_difference(node: E.Sub, i: int) -> LinearMap | None:
    """∂(a − b)/∂a = I, ∂(a − b)/∂b = −I  (PH: elementwise binary operations)."""
    arg = node.args[i]
    name = "elementwise binary operation"
    local = IdentityMap if i == 0 else Negation
    return expanded(node, arg, local(node.shape, node.shape, name))


@rule(E.Mul)
def jacobian_of_hadamard(node: E.Mul, i: int) -> LinearMap | None:
    """∂(a ⊙ b)/∂a = diag(b), ∂(a ⊙ b)/∂b = diag(a)  (PH: Hadamard product).

    With a scalar operand c this is scalar expansion: ∂(c x)/∂x = c I, ∂(c x)/∂c = x.
    """
    a, b = node.args
    other = b if i == 0 else a
    name = "scalar expansion" if a.is_scalar or b.is_scalar else "Hadamard product"
    return _scaling(node, node.args[i], other, name)


@rule(E.Div)
def jacobian_of_quotient(node: E.Div, i: int) -> LinearMap | None:
    """∂(a ⊘ b)/∂a = diag(1 ⊘ b), ∂(a ⊘ b)/∂b = diag(−a ⊘ b²)  (PH: elementwise binary)."""
    a, b = node.args
    if i == 0:
        v = s.div(s.const(1), b)
    else:
        v = s.neg(s.div(node, b))  # −a/b² written as −(a/b)/b, reusing a/b
    return _scaling(node, node.args[i], v, "elementwise binary operation")


@rule(E.Pow)
def jacobian_of_power(node: E.Pow, i: int) -> LinearMap | None:
    """∂(aᵖ)/∂a = diag(p aᵖ⁻¹), ∂(aᵖ)/∂p = diag(aᵖ ⊙ log a)  (elementwise binary)."""
    a, p = node.args
    if i == 0:
        v = s.mul(p, s.power(a, s.sub(p, s.const(1))))
    else:
        v = s.mul(node, s.apply("log", a))
    return _scaling(node, node.args[i], v, "elementwise binary operation")


@rule(E.Maximum)
def jacobian_of_maximum(node: E.Maximum, i: int) -> LinearMap | None:
    """∂max(a, b)/∂a = diag(1 − step(b − a)), ∂max(a, b)/∂b = diag(step(b − a)).

    At a tie the whole derivative goes to a, so max(x, x) = x has derivative 1
    and max(0, z) = relu(z) has relu′(0) = 0.
    """
    a, b = node.args
    b_wins = s.apply("step", s.sub(b, a))
    v = s.sub(s.const(1), b_wins) if i == 0 else b_wins
    return _scaling(node, node.args[i], v, "elementwise binary operation")


@rule(E.Apply)
def jacobian_of_elementwise_function(node: E.Apply, i: int) -> LinearMap | None:
    """∂f(z)/∂z = diag(f′(z))  (PH: elementwise functions); f′ from the function table."""
    derivative = FUNCTIONS[node.fn].derivative
    if derivative is None:
        return None
    (z,) = node.args
    return Scaling(node.shape, node.shape, "elementwise function", derivative(s, z, node))


@rule(E.MatMul)
def jacobian_of_matrix_product(node: E.MatMul, i: int) -> LinearMap | None:
    """d(AB) = dA B + A dB: ∂(Wx)/∂x = W; gradients Ḡ Bᵀ for A and Aᵀ Ḡ for B  (MC §2.1)."""
    a, b = node.args
    if i == 0:
        return RightProduct(a.shape, node.shape, "matrix product", b)
    return LeftProduct(b.shape, node.shape, "matrix product", a)


@rule(E.Transpose)
def jacobian_of_transpose(node: E.Transpose, i: int) -> LinearMap | None:
    """d(Aᵀ) = (dA)ᵀ."""
    (a,) = node.args
    return Transposition(a.shape, node.shape, "transpose")


@rule(E.Sum)
def jacobian_of_sum_reduction(node: E.Sum, i: int) -> LinearMap | None:
    """∂sum(x)/∂x = 𝟏ᵀ  (PH: vector sum reduction); axis sums take 𝟏ᵀ per column or row."""
    (a,) = node.args
    if node.axis is None:
        return SumAll(a.shape, node.shape, "sum")
    return SumAxis(a.shape, node.shape, "sum", node.axis)


@rule(E.Trace)
def jacobian_of_trace(node: E.Trace, i: int) -> LinearMap | None:
    """∂tr(X)/∂X = I  (MC §2.5)."""
    (a,) = node.args
    return Gradient(a.shape, node.shape, "trace", s.identity(a.rows))


@rule(E.Det)
def jacobian_of_determinant(node: E.Det, i: int) -> LinearMap | None:
    """∂det(X)/∂X = det(X) X⁻ᵀ  (MC §2.1.2)."""
    (a,) = node.args
    return Gradient(a.shape, node.shape, "determinant", s.mul(node, s.transpose(s.inv(a))))


@rule(E.LogDet)
def jacobian_of_log_determinant(node: E.LogDet, i: int) -> LinearMap | None:
    """∂log det(X)/∂X = X⁻ᵀ  (MC §2.1.2)."""
    (a,) = node.args
    return Gradient(a.shape, node.shape, "determinant", s.transpose(s.inv(a)))


@rule(E.Inv)
def jacobian_of_inverse(node: E.Inv, i: int) -> LinearMap | None:
    """d(X⁻¹) = −X⁻¹ dX X⁻¹; the gradient is −X⁻ᵀ Ḡ X⁻ᵀ  (MC §2.1)."""
    (a,) = node.args
    return Sandwich(a.shape, node.shape, "inverse", node)


@rule(E.Diag)
def jacobian_of_diag(node: E.Diag, i: int) -> LinearMap | None:
    """d diag(v) = diag(dv); the gradient of v is the diagonal of Ḡ."""
    (a,) = node.args
    return DiagonalEmbedding(a.shape, node.shape, "diagonal")


@rule(E.DiagPart)
def jacobian_of_diagonal_part(node: E.DiagPart, i: int) -> LinearMap | None:
    """d diagpart(A) = diagpart(dA); the gradient of A is diag(ḡ)."""
    (a,) = node.args
    return DiagonalExtraction(a.shape, node.shape, "diagonal")


@rule(E.Norm)
def jacobian_of_norm(node: E.Norm, i: int) -> LinearMap | None:
    """∂‖x‖/∂x = xᵀ / ‖x‖  (MC §2.6; Frobenius: X / ‖X‖_F)."""
    (a,) = node.args
    return Gradient(a.shape, node.shape, "norm", s.div(a, node))


@rule(E.Softmax)
def jacobian_of_softmax(node: E.Softmax, i: int) -> LinearMap | None:
    """∂softmax(x)/∂x = diag(s) − s sᵀ with s = softmax(x), per column."""
    (a,) = node.args
    return SoftmaxMap(a.shape, node.shape, "softmax", node)


@rule(E.LogSumExp)
def jacobian_of_logsumexp(node: E.LogSumExp, i: int) -> LinearMap | None:
    """∂logsumexp(x)/∂x = softmax(x)ᵀ, per column."""
    (a,) = node.args
    return ColumnGradient(a.shape, node.shape, "log-sum-exp", s.softmax(a))
