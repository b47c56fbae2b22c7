"""One table of operation specs: an expression that exercises the operation,
and samplers giving valid inputs (positive for log, well-conditioned for inv,
SPD for logdet, away from kinks for relu/abs/max)."""

from __future__ import annotations

from dataclasses import dataclass, field

import helpers as h

import matcalc as mc
from matcalc.functions import CATALOGUE

n, m, k = mc.dims("n m k")
x, y = mc.vector("x", n), mc.vector("y", n)
u = mc.vector("u", m)
c = mc.scalar("c")
A, B = mc.matrix("A", n, n), mc.matrix("B", n, n)
W = mc.matrix("W", m, n)
X = mc.matrix("X", n, k)
r = mc.matrix("r", 1, k)  # a row


@dataclass
class Spec:
    name: str
    expr: mc.Expr
    samplers: dict = field(default_factory=dict)
    # the operation builds a vector from vectors: also test mc.jacobian
    vector_jacobian: tuple[str, ...] = ()

    @property
    def scalar(self) -> mc.Expr:
        """The operation as a scalar: itself, or Σ R ⊙ it with a weight matrix R."""
        if self.expr.is_scalar:
            return self.expr
        return mc.sum(mc.matrix("R", *self.expr.shape) * self.expr)

    @property
    def wrt(self) -> list[mc.Variable]:
        """The operation's variables (R excluded), sorted by name."""
        variables = mc.variables(self.expr)
        return [variables[name] for name in sorted(variables)]


POS = h.positive
KINK = h.away_from_zero

SPECS = [
    Spec("add", x + y, vector_jacobian=("x", "y")),
    Spec("subtract", x - y, vector_jacobian=("x", "y")),
    Spec("hadamard", x * y, vector_jacobian=("x", "y")),
    Spec("divide", x / y, {"y": POS}, vector_jacobian=("x", "y")),
    Spec("power constant", x**3, vector_jacobian=("x",)),
    Spec("power variable exponent", x**c, {"x": POS}, vector_jacobian=("x", "c")),
    Spec("negate", -x, vector_jacobian=("x",)),
    Spec("scalar expansion add", x + c, vector_jacobian=("x", "c")),
    Spec("scalar expansion multiply", c * x, vector_jacobian=("x", "c")),
    Spec("scalar over vector", c / y, {"y": POS}, vector_jacobian=("y", "c")),
    Spec("broadcast column", X + x),
    Spec("broadcast row", X * r),
    Spec("broadcast scalar over matrix", X - c),
    Spec("log1p exp", mc.log(1 + mc.exp(x)), vector_jacobian=("x",)),
    # stable normal forms: each is rewritten before it is differentiated
    Spec("log sigmoid", mc.log(mc.sigmoid(x)), vector_jacobian=("x",)),
    Spec("log one minus sigmoid", mc.log(1 - mc.sigmoid(x)), vector_jacobian=("x",)),
    Spec("log softmax", mc.log(mc.softmax(x)), vector_jacobian=("x",)),
    Spec("log softmax columns", mc.log(mc.softmax(X))),
    Spec("squared norm", mc.norm(W @ x - u) ** 2, vector_jacobian=("x",)),
    Spec(
        "maximum",
        mc.maximum(x, y),
        {"x": KINK, "y": lambda g, s: 0 * g.normal(size=s)},
        vector_jacobian=("x",),
    ),
    Spec("maximum of two variables", mc.maximum(x, 2 * y), {"x": KINK, "y": KINK}),
    Spec("matrix-vector product", W @ x, vector_jacobian=("x",)),
    Spec("matrix product", A @ B),
    Spec("row times matrix", r @ X.T),
    Spec("quadratic form", x.T @ A @ x, vector_jacobian=("x",)),
    Spec("transpose", (W @ A).T),
    Spec("sum all", mc.sum(X)),
    Spec("sum axis 0", mc.sum(X, axis=0)),
    Spec("sum axis 1", mc.sum(X, axis=1), vector_jacobian=()),
    Spec("sum of vector", mc.sum(x), vector_jacobian=("x",)),
    Spec("trace", mc.trace(A @ B)),
    Spec("det", mc.det(A), {"A": h.well_conditioned}),
    Spec("logdet", mc.logdet(A), {"A": h.spd}),
    Spec("inv", mc.inv(A), {"A": h.well_conditioned}),
    Spec("diag of vector", mc.diag(x) @ B),
    Spec("diagonal of matrix", mc.diag(A), vector_jacobian=()),
    Spec("norm of vector", mc.norm(x), vector_jacobian=("x",)),
    Spec("norm of matrix", mc.norm(W)),
    Spec("dot", mc.dot(x, y), vector_jacobian=("x", "y")),
    Spec("outer", mc.outer(x, u)),
    Spec("softmax vector", mc.softmax(x), vector_jacobian=("x",)),
    Spec("softmax columns", mc.softmax(X)),
    Spec("logsumexp vector", mc.logsumexp(x), vector_jacobian=("x",)),
    Spec("logsumexp columns", mc.logsumexp(X)),
    Spec("ones", mc.ones(m, 1).T @ (W @ x)),
    Spec("zeros", W @ x + mc.zeros(m, 1)),
    Spec("eye", (mc.eye(n) * c + A) @ x, vector_jacobian=("x", "c")),
]
# Every function of the catalogue, on values its entry says are valid: inside its
# domain and away from its kinks.  A new entry is tested without a line here.
SPECS += [
    Spec(f.name, getattr(mc, f.name)(x), {"x": h.sampler_for(f)}, vector_jacobian=("x",))
    for f in CATALOGUE
]
