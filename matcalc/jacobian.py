"""Structured Jacobians: the local derivative of one node w.r.t. one child.

A Jacobian here is a linear map J: d(child) ↦ d(node), kept in its structured
form (identity, diag(v), a ones vector for scalar expansion, a ones row for a
sum, a left or right matrix product, ...), never as a dense table.  Each map
knows two things:

* ``vjp(ḡ)``: the adjoint Jᵀḡ, shaped like the child, for reverse
  accumulation (a gradient ḡ of the node becomes one of the child).  This is
  where composition collapses structure: uᵀ diag(v) = (u ⊙ v)ᵀ, 𝟏ᵀ diag(v) = vᵀ.
* ``matrix()``: the Jacobian as a numerator-layout matrix expression when
  node and child are vectors or scalars (a row vector counts by its entries),
  for forward accumulation of ``jacobian``.  Products of these collapse in the
  simplifier: diag(a) diag(b) = diag(a ⊙ b).

The rule name (the lecture's vocabulary) is carried along for derivations.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import expr as E
from . import simplifier as s
from .dims import Shape, format_shape, vector_length
from .errors import DerivativeError


class NotVectorialError(DerivativeError):
    """The Jacobian between these shapes is a 3- or 4-index tensor."""


def _length(shape: Shape) -> object:
    length = vector_length(shape)
    if length is None:
        raise NotVectorialError(f"a {format_shape(shape)} matrix is not a vector")
    return length


@dataclass(frozen=True)
class LinearMap:
    """d(node)/d(child) as a structured linear map from in_shape to out_shape."""

    in_shape: Shape
    out_shape: Shape
    rule: str

    def jvp(self, d: E.Expr) -> E.Expr:  # pragma: no cover - every map overrides
        """The map applied to a change d of the child: J d, shaped like the node."""
        raise NotImplementedError

    def vjp(self, g: E.Expr) -> E.Expr:  # pragma: no cover - every map overrides
        raise NotImplementedError

    def matrix(self) -> E.Expr:  # pragma: no cover - every map overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Composed(LinearMap):
    """J_outer J_inner (the chain rule inside one node)."""

    inner: LinearMap
    outer: LinearMap

    def jvp(self, d: E.Expr) -> E.Expr:
        return self.outer.jvp(self.inner.jvp(d))

    def vjp(self, g: E.Expr) -> E.Expr:
        return self.inner.vjp(self.outer.vjp(g))

    def matrix(self) -> E.Expr:
        return s.matmul(self.outer.matrix(), self.inner.matrix())


@dataclass(frozen=True)
class IdentityMap(LinearMap):
    """∂a/∂a = I."""

    def jvp(self, d: E.Expr) -> E.Expr:
        return d

    def vjp(self, g: E.Expr) -> E.Expr:
        return g

    def matrix(self) -> E.Expr:
        return s.identity(_length(self.in_shape))


@dataclass(frozen=True)
class Scaling(LinearMap):
    """d ↦ v ⊙ d, i.e. diag(v) (v may be a scalar c, giving c I)."""

    v: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.mul(self.v, d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.mul(g, self.v)

    def matrix(self) -> E.Expr:
        length = _length(self.out_shape)
        if self.v.is_scalar:
            return s.mul(self.v, s.identity(length))
        vec = self.v if self.v.is_column else s.transpose(self.v)
        return s.diag(vec)


@dataclass(frozen=True)
class Negation(LinearMap):
    """d ↦ −d, i.e. −I."""

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.neg(d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.neg(g)

    def matrix(self) -> E.Expr:
        return s.neg(s.identity(_length(self.in_shape)))


@dataclass(frozen=True)
class Broadcast(LinearMap):
    """Stretch a scalar, column or row to out_shape; its adjoint sums back.

    A scalar expanded to a vector has Jacobian 𝟏 (scalar expansion).
    """

    def jvp(self, d: E.Expr) -> E.Expr:
        rows, cols = self.out_shape
        if d.is_scalar:
            return s.mul(d, s.ones(rows, cols))
        if d.is_column:
            return s.matmul(d, s.ones(1, cols))
        return s.matmul(s.ones(rows, 1), d)

    def vjp(self, g: E.Expr) -> E.Expr:
        rows_in, cols_in = self.in_shape
        rows_out, cols_out = self.out_shape
        if self.in_shape == (1, 1) or (rows_in != rows_out and cols_in != cols_out):
            return s.total(g)
        if cols_in != cols_out:
            return s.total(g, 1)
        return s.total(g, 0)

    def matrix(self) -> E.Expr:
        if vector_length(self.in_shape) != 1:
            raise NotVectorialError("broadcasting a vector across a matrix")
        return s.ones(_length(self.out_shape), 1)


@dataclass(frozen=True)
class SumAll(LinearMap):
    """d ↦ 𝟏ᵀ d 𝟏 (sum of all entries); its Jacobian on a vector is the ones row 𝟏ᵀ."""

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.total(d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.mul(g, s.ones(*self.in_shape))

    def matrix(self) -> E.Expr:
        return s.ones(1, _length(self.in_shape))


@dataclass(frozen=True)
class SumAxis(LinearMap):
    """Column sums (axis 0, 𝟏ᵀD) or row sums (axis 1, D𝟏)."""

    axis: int

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.total(d, self.axis)

    def vjp(self, g: E.Expr) -> E.Expr:
        rows, cols = self.in_shape
        if self.axis == 0:
            return s.matmul(s.ones(rows, 1), g)
        return s.matmul(g, s.ones(1, cols))

    def matrix(self) -> E.Expr:
        length = _length(self.in_shape)
        if vector_length(self.out_shape) == length and self.out_shape == self.in_shape:
            return s.identity(length)
        if self.out_shape == (1, 1):
            return s.ones(1, length)
        raise NotVectorialError("summing a matrix along one axis")


@dataclass(frozen=True)
class LeftProduct(LinearMap):
    """D ↦ A D; for a vector child the Jacobian of A x is A."""

    a: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.matmul(self.a, d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.matmul(s.transpose(self.a), g)

    def matrix(self) -> E.Expr:
        if self.in_shape[1] != 1:
            raise NotVectorialError("a matrix times a matrix variable")
        return self.a


@dataclass(frozen=True)
class RightProduct(LinearMap):
    """D ↦ D B; for a row child xᵀ B the Jacobian (by entries) is Bᵀ."""

    b: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.matmul(d, self.b)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.matmul(g, s.transpose(self.b))

    def matrix(self) -> E.Expr:
        if self.in_shape[0] == 1:
            return s.transpose(self.b)
        if self.b.is_scalar:
            return s.mul(self.b, s.identity(_length(self.in_shape)))
        raise NotVectorialError("a matrix variable times a matrix")


@dataclass(frozen=True)
class Transposition(LinearMap):
    """D ↦ Dᵀ; on vectors it only reorients, so its Jacobian is I."""

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.transpose(d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.transpose(g)

    def matrix(self) -> E.Expr:
        return s.identity(_length(self.in_shape))


@dataclass(frozen=True)
class Gradient(LinearMap):
    """A scalar node f(X) with gradient G: dX ↦ ⟨G, dX⟩; its Jacobian is vec(G)ᵀ."""

    gradient: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.total(s.mul(self.gradient, d))

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.mul(g, self.gradient)

    def matrix(self) -> E.Expr:
        _length(self.in_shape)
        grad = self.gradient
        return grad if grad.rows == 1 else s.transpose(grad)


@dataclass(frozen=True)
class Sandwich(LinearMap):
    """D ↦ −B D B for B = A⁻¹ (the differential of the inverse)."""

    b: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.neg(s.matmul(s.matmul(self.b, d), self.b))

    def vjp(self, g: E.Expr) -> E.Expr:
        bt = s.transpose(self.b)
        return s.neg(s.matmul(s.matmul(bt, g), bt))

    def matrix(self) -> E.Expr:
        if self.b.is_scalar:
            return s.neg(s.power(self.b, s.const(2)))
        raise NotVectorialError("the inverse of a matrix")


@dataclass(frozen=True)
class DiagonalEmbedding(LinearMap):
    """v ↦ diag(v); its adjoint takes the diagonal."""

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.diag(d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.diag_part(g)

    def matrix(self) -> E.Expr:
        if self.out_shape != (1, 1):
            raise NotVectorialError("diag of a vector is a matrix")
        return s.const(1)


@dataclass(frozen=True)
class DiagonalExtraction(LinearMap):
    """A ↦ diag(A) as a vector; its adjoint puts a vector on the diagonal."""

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.diag_part(d)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.diag(g)

    def matrix(self) -> E.Expr:
        if self.in_shape != (1, 1):
            raise NotVectorialError("the diagonal of a matrix")
        return s.const(1)


@dataclass(frozen=True)
class SoftmaxMap(LinearMap):
    """d ↦ s ⊙ d − s (sᵀd), i.e. diag(s) − s sᵀ, column by column."""

    s_value: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        soft = self.s_value
        return s.mul(soft, s.sub(d, s.total(s.mul(soft, d), 0)))

    def vjp(self, g: E.Expr) -> E.Expr:
        soft = self.s_value
        return s.mul(soft, s.sub(g, s.total(s.mul(soft, g), 0)))

    def matrix(self) -> E.Expr:
        _length(self.in_shape)
        if not self.in_shape[1] == 1:
            raise NotVectorialError("softmax of a row")
        soft = self.s_value
        return s.sub(s.diag(soft), s.matmul(soft, s.transpose(soft)))


@dataclass(frozen=True)
class ColumnGradient(LinearMap):
    """Column-wise scalar function with gradient G per column: D ↦ 𝟏ᵀ(G ⊙ D)."""

    gradient: E.Expr

    def jvp(self, d: E.Expr) -> E.Expr:
        return s.total(s.mul(self.gradient, d), 0)

    def vjp(self, g: E.Expr) -> E.Expr:
        return s.mul(self.gradient, g)

    def matrix(self) -> E.Expr:
        if self.in_shape[1] != 1:
            raise NotVectorialError("a column-wise reduction of a matrix")
        return s.transpose(self.gradient)
