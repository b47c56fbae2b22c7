"""Results as a textbook prints them: a golden table of derivatives with their
textbook forms (the Matrix Cookbook, MC, by equation number; Parr & Howard,
PH; Nielsen ch. 2, N; Bishop's PRML, B).  Each result must equal its
textbook form (mc.equivalent: symbolic or on random numbers) and be no
larger (nodes of the printed tree)."""

from __future__ import annotations

from collections import Counter

import pytest

import matcalc as mc
from matcalc.algebra import tree_size

n, m, N = mc.dims("n m N")
x, a, c = mc.vector("x", n), mc.vector("a", n), mc.vector("c", n)
u, b, y, t = mc.vector("u", m), mc.vector("b", m), mc.vector("y", m), mc.vector("t", m)
q = mc.vector("q", m, probability=True)
A, B, X = mc.matrix("A", n, n), mc.matrix("B", n, n), mc.matrix("X", n, n)
S = mc.matrix("S", n, n, symmetric=True)
W, V = mc.matrix("W", m, n), mc.matrix("V", m, m)
D = mc.matrix("D", N, n)  # a data matrix, one example per row
w, labels = mc.vector("w", n), mc.vector("l", N)
s = mc.sigmoid(D @ w)
bce = -mc.sum(labels * mc.log(s) + (1 - labels) * mc.log(1 - s))
z = W @ x + b
sm = mc.softmax(z)


def _grad(f, v):
    return mc.grad(f, v)


# (name, source, derived, textbook)
TABLE = [
    ("a.T x", "MC (69)", _grad(a.T @ x, x), a),
    ("x.T a", "MC (69)", _grad(x.T @ a, x), a),
    ("x.T x", "MC (2.4.2)", _grad(x.T @ x, x), 2 * x),
    ("x.T A x", "MC (81)", _grad(x.T @ A @ x, x), (A + A.T) @ x),
    ("x.T S x, S symmetric", "MC (81)", _grad(x.T @ S @ x, x), 2 * S @ x),
    ("a.T X c", "MC (70)", _grad(a.T @ X @ c, X), a @ c.T),
    ("a.T X.T c", "MC (71)", _grad(a.T @ X.T @ c, X), c @ a.T),
    ("x.T S x / 2 − c.T x, S symmetric", "MC (81), (69)", _grad(x.T @ S @ x / 2 - c.T @ x, x),
     S @ x - c),
    ("x.T A x − c.T x", "MC (81), (69)", _grad(x.T @ A @ x - c.T @ x, x), (A + A.T) @ x - c),
    ("log sum exp x", "B (4.104)", _grad(mc.log(mc.sum(mc.exp(x))), x), mc.softmax(x)),
    ("tr X", "MC (2.5)", _grad(mc.trace(X), X), mc.eye(n)),
    ("tr(A X)", "MC (100)", _grad(mc.trace(A @ X), X), A.T),
    ("tr(X A)", "MC (100)", _grad(mc.trace(X @ A), X), A.T),
    ("tr(X.T A)", "MC (101)", _grad(mc.trace(X.T @ A), X), A),
    ("tr(A X B)", "MC (102)", _grad(mc.trace(A @ X @ B), X), A.T @ B.T),
    ("tr(X.T X)", "MC (2.5.2)", _grad(mc.trace(X.T @ X), X), 2 * X),
    ("tr(X.T A X)", "MC (108)", _grad(mc.trace(X.T @ A @ X), X), (A + A.T) @ X),
    ("det X", "MC (49)", _grad(mc.det(X), X), mc.det(X) * mc.inv(X).T),
    ("log det X", "MC (57)", _grad(mc.logdet(X), X), mc.inv(X).T),
    ("log det S, S symmetric", "MC (57)", _grad(mc.logdet(S), S), mc.inv(S)),
    ("det(X)²", "MC (49)", _grad(mc.det(X) ** 2, X), 2 * mc.det(X) ** 2 * mc.inv(X).T),
    ("log det X⁻¹", "MC (57)", _grad(mc.log(mc.det(mc.inv(X))), X), -mc.inv(X).T),
    ("log det(W.T W)", "MC (55)", _grad(mc.logdet(W.T @ W), W), 2 * W @ mc.inv(W.T @ W)),
    ("a.T X⁻¹ c", "MC (61)", _grad(a.T @ mc.inv(X) @ c, X),
     -mc.inv(X).T @ a @ c.T @ mc.inv(X).T),
    ("tr(A X⁻¹ B)", "MC (63)", _grad(mc.trace(A @ mc.inv(X) @ B), X),
     -(mc.inv(X) @ B @ A @ mc.inv(X)).T),
    ("‖x‖²", "MC (2.6)", _grad(mc.norm(x) ** 2, x), 2 * x),
    ("‖x − a‖²", "MC (2.6)", _grad(mc.norm(x - a) ** 2, x), 2 * (x - a)),
    ("‖W x − y‖² by x", "MC (2.6), least squares", _grad(mc.norm(W @ x - y) ** 2, x),
     2 * W.T @ (W @ x - y)),
    ("‖W x − y‖² by W", "MC (2.6)", _grad(mc.norm(W @ x - y) ** 2, W), 2 * (W @ x - y) @ x.T),
    ("‖X‖² Frobenius", "MC (2.6)", _grad(mc.norm(X) ** 2, X), 2 * X),
    ("‖x‖", "MC (129)", _grad(mc.norm(x), x), x / mc.norm(x)),
    ("sum exp x", "PH 4.2", _grad(mc.sum(mc.exp(x)), x), mc.exp(x)),
    ("sum log x", "PH 4.2", _grad(mc.sum(mc.log(x)), x), 1 / x),
    ("sum σ(x)", "PH 4.2", _grad(mc.sum(mc.sigmoid(x)), x),
     mc.sigmoid(x) * (1 - mc.sigmoid(x))),
    ("sum softplus x", "B (5.2)", _grad(mc.sum(mc.softplus(x)), x), mc.sigmoid(x)),
    ("logsumexp x", "B (4.104)", _grad(mc.logsumexp(x), x), mc.softmax(x)),
    ("cross-entropy of σ", "B (4.91)", _grad(bce, w), D.T @ (s - labels)),
    ("softmax cross-entropy, y a distribution", "B (4.109)",
     _grad(-mc.sum(q * mc.log(mc.softmax(z))), b), mc.softmax(z) - q),
    ("softmax cross-entropy", "B (4.109)", _grad(-mc.sum(y * mc.log(sm)), b),
     mc.sum(y) * sm - y),
    ("log σ(wᵀx)", "B (4.90)", _grad(mc.log(mc.sigmoid(w.T @ x)), w),
     (1 - mc.sigmoid(w.T @ x)) * x),
    ("log(1 − σ(wᵀx))", "B (4.90)", _grad(mc.log(1 - mc.sigmoid(w.T @ x)), w),
     -mc.sigmoid(w.T @ x) * x),
    ("quadratic cost, b", "N (BP1, BP3)", _grad(mc.sum((mc.sigmoid(z) - y) ** 2) / 2, b),
     (mc.sigmoid(z) - y) * mc.sigmoid(z) * (1 - mc.sigmoid(z))),
    ("quadratic cost, W", "N (BP4)", _grad(mc.sum((mc.sigmoid(z) - y) ** 2) / 2, W),
     ((mc.sigmoid(z) - y) * mc.sigmoid(z) * (1 - mc.sigmoid(z))) @ x.T),
    ("tanh layer", "N (BP2, BP4)", _grad(mc.sum((V @ mc.tanh(z) - t) ** 2), W),
     2 * ((V.T @ (V @ mc.tanh(z) - t)) * (1 - mc.tanh(z) ** 2)) @ x.T),
    ("Jacobian W x", "PH 4.4", mc.jacobian(W @ x, x), W),
    ("Jacobian σ(x)", "PH 4.2", mc.jacobian(mc.sigmoid(x), x),
     mc.diag(mc.sigmoid(x) * (1 - mc.sigmoid(x)))),
    ("Jacobian x ⊙ a", "PH 4.2", mc.jacobian(x * a, x), mc.diag(a)),
    ("Jacobian log softmax", "B (4.106)", mc.jacobian(mc.log(mc.softmax(x)), x),
     mc.eye(n) - mc.ones(n, 1) @ mc.softmax(x).T),
    ("Hessian x.T A x", "MC (2.4.2)", mc.hessian(x.T @ A @ x, x), A + A.T),
    ("Hessian ‖W x − y‖²", "least squares", mc.hessian(mc.norm(W @ x - y) ** 2, x),
     2 * W.T @ W),
    ("Hessian cross-entropy of σ", "B (4.97)", mc.hessian(bce, w),
     D.T @ mc.diag(s * (1 - s)) @ D),
    ("Hessian sum exp(W x)", "PH", mc.hessian(mc.sum(mc.exp(W @ x)), x),
     W.T @ mc.diag(mc.exp(W @ x)) @ W),
    ("Hessian logsumexp", "B (4.106)", mc.hessian(mc.logsumexp(x), x),
     mc.diag(mc.softmax(x)) - mc.softmax(x) @ mc.softmax(x).T),
    ("Hessian sum softplus", "B (5.2)", mc.hessian(mc.sum(mc.softplus(x)), x),
     mc.diag(mc.sigmoid(x) * (1 - mc.sigmoid(x)))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "source", "derived", "textbook"), TABLE, ids=[row[0] for row in TABLE]
)
def test_result_equals_the_textbook_form_and_is_no_larger(name, source, derived, textbook):
    assert mc.equivalent(derived, textbook).ok, f"{name} ({source}): {derived} ≠ {textbook}"
    assert tree_size(derived) <= tree_size(textbook), f"{name}: {derived}  vs  {textbook}"


def test_the_table_is_large() -> None:
    assert len(TABLE) >= 40


def test_how_many_are_strictly_smaller() -> None:
    """Reported in the closing note: results smaller than the textbook's form."""
    smaller = Counter(tree_size(d) < tree_size(t) for _, _, d, t in TABLE)
    assert smaller[True] + smaller[False] == len(TABLE)
