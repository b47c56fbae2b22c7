"""Hand derivations for the check: planted mistakes with the diagnosis each
must get, and correct answers written in other valid ways.

Sources: PH = Parr & Howard; MC = the Matrix Cookbook §2; N = Nielsen ch. 2.
"""

from __future__ import annotations

import matcalc as mc

n, m, p, N = mc.dims("n m p N")
x, w, a_, b_ = mc.vector("x", n), mc.vector("w", n), mc.vector("a", n), mc.vector("b", n)
c_ = mc.vector("c", m)
y = mc.vector("y", m)
W, bias = mc.matrix("W", m, n), mc.vector("b", m)
A, B, X = mc.matrix("A", n, n), mc.matrix("B", n, n), mc.matrix("X", n, n)
Y = mc.matrix("Y", m, n)  # a rectangular X
D = mc.matrix("D", m, m)
s = mc.scalar("s")

# N: one sigmoid layer, C = ½‖σ(Wx + b) − y‖²
z = W @ x + bias
act = mc.sigmoid(z)
C_layer = mc.sum((act - y) ** 2) / 2
delta = (act - y) * act * (1 - act)
sigma_prime = act * (1 - act)

# PH: the neuron and its loss
wb = mc.scalar("b")
Xd = mc.matrix("Xd", n, N)
yd = mc.vector("yd", N)
zn = Xd.T @ w + wb
neuron = mc.maximum(0, mc.dot(w, x) + wb)
loss = mc.sum((yd - mc.maximum(0, zn)) ** 2) / N
relu_prime = mc.maximum(0, zn) / zn  # 1 where z > 0, 0 where z < 0 (values avoid z = 0)
loss_grad_w = -2 / N * (Xd @ ((yd - mc.maximum(0, zn)) * relu_prime))

# N: three layers, BP1-BP4
d0, d1, d2, d3 = mc.dims("d0 d1 d2 d3")
W1, W2, W3 = mc.matrix("W1", d1, d0), mc.matrix("W2", d2, d1), mc.matrix("W3", d3, d2)
b1, b2, b3 = mc.vector("b1", d1), mc.vector("b2", d2), mc.vector("b3", d3)
xin, yout = mc.vector("xin", d0), mc.vector("yout", d3)
z1 = W1 @ xin + b1
a1 = mc.sigmoid(z1)
z2 = W2 @ a1 + b2
a2 = mc.sigmoid(z2)
z3 = W3 @ a2 + b3
a3 = mc.sigmoid(z3)
C_net = mc.sum((a3 - yout) ** 2) / 2
delta3 = (a3 - yout) * a3 * (1 - a3)  # BP1
delta2 = (W3.T @ delta3) * a2 * (1 - a2)  # BP2
delta1 = (W2.T @ delta2) * a1 * (1 - a1)

# MC and PH functions with their gradients
quad = x.T @ A @ x
logistic_inputs, labels = mc.matrix("L", m, n), mc.vector("t", m)
logistic = mc.sum(mc.log(1 + mc.exp(-labels * (logistic_inputs @ w))))
p_ = mc.sigmoid(-labels * (logistic_inputs @ w))

# (name, claim, f, variable, expected diagnosis)
MISTAKES = [
    # transposes (layout mix-ups)
    ("N BP4 transposed", x @ delta.T, C_layer, W, "transpose"),
    ("N BP4 layer 1 transposed", xin @ delta1.T, C_net, W1, "transpose"),
    ("N BP4 layer 2 transposed", a1 @ delta2.T, C_net, W2, "transpose"),
    ("N BP4 layer 3 transposed", a2 @ delta3.T, C_net, W3, "transpose"),
    ("MC aᵀXb transposed", b_ @ c_.T, c_.T @ Y @ b_, Y, "transpose"),
    ("MC tr(AXB) transposed", B @ A, mc.trace(A @ X @ B), X, "transpose"),
    ("MC det transposed", mc.det(X) * mc.inv(X), mc.det(X), X, "transpose"),
    ("MC logdet transposed", mc.inv(X), mc.logdet(X), X, "transpose"),
    ("MC tr(XA) transposed", A, mc.trace(X @ A), X, "transpose"),
    (
        "MC inverse form transposed",
        -(mc.inv(X) @ b_ @ a_.T @ mc.inv(X)),
        a_.T @ mc.inv(X) @ b_,
        X,
        "transpose",
    ),
    ("PH Jacobian Wx transposed", W.T, W @ x, x, "transpose"),
    (
        "MC (Xb+c)ᵀD(Xb+c) transposed",
        b_ @ ((Y @ b_ + c_).T @ (D + D.T)),
        (Y @ b_ + c_).T @ D @ (Y @ b_ + c_),
        Y,
        "transpose",
    ),
    # signs
    ("N BP1 sign", -delta @ x.T, C_layer, W, "sign"),
    ("N BP3 sign", -delta, C_layer, bias, "sign"),
    ("N BP3 layer 2 sign", -delta2, C_net, b2, "sign"),
    ("MC inverse sign", mc.inv(X).T @ a_ @ b_.T @ mc.inv(X).T, a_.T @ mc.inv(X) @ b_, X, "sign"),
    ("PH loss sign", -loss_grad_w, loss, w, "sign"),
    ("PH w − x Jacobian sign", mc.eye(n), w - x, x, "sign"),
    ("logistic gradient sign", logistic_inputs.T @ (labels * p_), logistic, w, "sign"),
    (
        "MC tr(AX⁻¹B) sign",
        (mc.inv(X) @ B @ A @ mc.inv(X)).T,
        mc.trace(A @ mc.inv(X) @ B),
        X,
        "sign",
    ),
    # constant factors
    ("N BP4 factor 2", 2 * delta @ x.T, C_layer, W, "factor"),
    ("N BP3 factor 1/2", delta / 2, C_layer, bias, "factor"),
    ("MC ‖X‖² factor", X, mc.norm(X) ** 2, X, "factor"),
    ("MC tr(X²) factor", X.T, mc.trace(X @ X), X, "factor"),
    (
        "PH loss without the 2",
        -1 / N * (Xd @ ((yd - mc.maximum(0, zn)) * relu_prime)),
        loss,
        w,
        "factor",
    ),
    ("quadratic form, symmetric A assumed ×2", 4 * (A + A.T) @ x, quad, x, "factor"),
    ("PH ∂sum(x s)/∂s given as a vector", 2 * x, mc.sum(x * s), s, "shape"),
    ("N BP4 layer 3 factor", 3 * delta3 @ a2.T, C_net, W3, "factor"),
    # ⊙ where a matrix product belongs, and back
    ("MC xᵀAx with ⊙", (A + A.T) * x, quad, x, "hadamard for matrix product"),
    ("MC tr(AXB) with ⊙", A.T * B.T, mc.trace(A @ X @ B), X, "hadamard for matrix product"),
    ("MC tr(ABX) with ⊙", B.T * A.T, mc.trace(A @ B @ X), X, "hadamard for matrix product"),
    ("MC xᵀAx half with ⊙", A.T @ x + A * x, quad, x, "hadamard for matrix product"),
    ("MC Jacobian of A x with ⊙", A * mc.eye(n), A @ x, x, "hadamard for matrix product"),
    (
        "N δ with a matrix product",
        ((act - y).T @ sigma_prime) * mc.ones(m, 1) @ x.T,
        C_layer,
        W,
        "matrix product for hadamard",
    ),
    ("MC tr(XᵀA) answered A²", A @ A, mc.trace(X.T @ A), X, "counterexample"),
    # σ where σ′ belongs, and the other way round
    (
        "N δ with σ(z) for σ′(z)",
        ((act - y) * mc.sigmoid(z)) @ x.T,
        C_layer,
        W,
        "function for its derivative",
    ),
    ("N BP3 with σ(z)", (act - y) * mc.sigmoid(z), C_layer, bias, "function for its derivative"),
    (
        "N BP2 with σ(z2)",
        (W3.T @ delta3) * mc.sigmoid(z2),
        C_net,
        b2,
        "function for its derivative",
    ),
    (
        "tanh layer with tanh",
        W.T @ (mc.tanh(W @ x) * 1),
        mc.sum(mc.tanh(W @ x)),
        x,
        "function for its derivative",
    ),
    # f is defined for every x, the claim only for x > 0: wrong, and it says where
    ("exp-sum with log", mc.log(x), mc.sum(mc.exp(x)), x, "domain"),
    (
        "Jacobian of σ with σ",
        mc.diag(mc.sigmoid(x)),
        mc.sigmoid(x),
        x,
        "function for its derivative",
    ),
    (
        "σ′ where σ belongs",
        W.T @ (mc.sigmoid(W @ x) * (1 - mc.sigmoid(W @ x))),
        mc.sum(mc.log(1 + mc.exp(W @ x))),
        x,
        "derivative for the function",
    ),
    (
        "N BP1 layer 3 with σ",
        (a3 - yout) * mc.sigmoid(z3),
        C_net,
        b3,
        "function for its derivative",
    ),
    # missing and extra terms
    ("MC xᵀAx missing Aᵀx", A @ x, quad, x, "missing term"),
    ("MC xᵀAx missing Ax", A.T @ x, quad, x, "missing term"),
    ("MC tr(XᵀAX) missing a term", A @ X, mc.trace(X.T @ A @ X), X, "missing term"),
    (
        "MC bᵀXᵀXc missing a term",
        Y @ b_ @ mc.vector("c", n).T,
        b_.T @ Y.T @ Y @ mc.vector("c", n),
        Y,
        "missing term",
    ),
    (
        "MC (Xb+c)ᵀD(Xb+c) missing Dᵀ",
        D @ (Y @ b_ + c_) @ b_.T,
        (Y @ b_ + c_).T @ D @ (Y @ b_ + c_),
        Y,
        "missing term",
    ),
    ("xᵀx + s sum(x) missing s", 2 * x, x.T @ x + s * mc.sum(x), x, "missing term"),
    ("extra bias term in BP4", delta @ x.T + mc.outer(bias, x), C_layer, W, "extra term"),
    ("extra identity in Jacobian", mc.diag(x) + mc.eye(n), w * x, w, "extra term"),
    ("extra term in quadratic", A @ x + A.T @ x + x, quad, x, "extra term"),
    ("extra term in BP3", delta + y, C_layer, bias, "extra term"),
    # the order of a matrix product
    ("MC tr(AXB) order", B.T @ A.T, mc.trace(A @ X @ B), X, "argument order"),
    ("MC tr(AXᵀB) order", A @ B, mc.trace(A @ X.T @ B), X, "argument order"),
    ("MC tr(ABX) order", A.T @ B.T, mc.trace(A @ B @ X), X, "argument order"),
    ("MC tr(XAB) order", A.T @ B.T, mc.trace(X @ A @ B), X, "argument order"),
    ("N BP2 factor", 2 * (W3.T @ delta3) * a2 * (1 - a2), C_net, b2, "factor"),
    ("MC det(AXB) inverse order", mc.det(A @ X @ B) * mc.inv(X), mc.det(A @ X @ B), X, "transpose"),
    # shape mistakes and undefined names
    ("N BP4 as a vector", delta, C_layer, W, "shape"),
    ("unknown variable", mc.vector("v", m) @ x.T, C_layer, W, "unknown variable"),
    ("a scalar for a vector gradient", mc.sum(x), quad, x, "shape"),
]

Ln = mc.matrix("Ln", n, n)
v_ = mc.vector("v", n)
zz = mc.vector("zz", n)
yy = mc.vector("yy", n)
softmax_ce = mc.logsumexp(zz) - mc.dot(yy, zz)
relu_prime_neuron = mc.maximum(0, mc.dot(w, x) + wb) / (mc.dot(w, x) + wb)

# (name, claim, f, variable): right answers written another way
CORRECT = [
    ("N BP4 as an outer product", mc.outer(delta, x), C_layer, W),
    ("N BP4 broadcast δ ⊙ xᵀ", delta * x.T, C_layer, W),
    ("N BP3 reordered factors", act * (act - y) * (1 - act), C_layer, bias),
    ("N BP3 σ′ expanded", (act - y) * (act - act * act), C_layer, bias),
    ("N σ′ as exp(−z)/(1+exp(−z))²", (act - y) * mc.exp(-z) / (1 + mc.exp(-z)) ** 2, C_layer, bias),
    ("N BP1 with the exp form", ((act - y) * mc.exp(-z) / (1 + mc.exp(-z)) ** 2) @ x.T, C_layer, W),
    ("N ∂C/∂x", W.T @ delta, C_layer, x),
    ("N ∂C/∂x as a row transposed", (delta.T @ W).T, C_layer, x),
    ("N BP4 layer 1", delta1 @ xin.T, C_net, W1),
    ("N BP4 layer 2", mc.outer(delta2, a1), C_net, W2),
    ("N BP4 layer 3", delta3 * a2.T, C_net, W3),
    ("N BP3 layer 1", delta1, C_net, b1),
    ("N BP2 from a row", (delta3.T @ W3).T * a2 * (1 - a2), C_net, b2),
    ("N BP1 layer 3", (a3 - yout) * mc.sigmoid(z3) * (1 - mc.sigmoid(z3)), C_net, b3),
    ("MC (A + Aᵀ)x", (A + A.T) @ x, quad, x),
    ("MC Ax + Aᵀx", A @ x + A.T @ x, quad, x),
    ("MC (Aᵀ + A)x reordered", (A.T + A) @ x, quad, x),
    ("MC xᵀ(A + Aᵀ) transposed", (x.T @ (A + A.T)).T, quad, x),
    ("MC tr(XᵀA) = A", A, mc.trace(X.T @ A), X),
    ("MC tr(AXᵀ) = A", A.T.T, mc.trace(A @ X.T), X),
    ("MC tr(AXB) = AᵀBᵀ = (BA)ᵀ", (B @ A).T, mc.trace(A @ X @ B), X),
    ("MC tr(AXᵀB) = BA", (A.T @ B.T).T, mc.trace(A @ X.T @ B), X),
    ("MC tr(X) = I", mc.diag(mc.ones(n, 1)), mc.trace(X), X),
    ("MC tr(X²) = 2Xᵀ", X.T + X.T, mc.trace(X @ X), X),
    ("MC tr(XᵀAX) = (A + Aᵀ)X", (A + A.T) @ X, mc.trace(X.T @ A @ X), X),
    ("MC tr(XBXᵀ) = X(B + Bᵀ)", X @ (B + B.T), mc.trace(X @ B @ X.T), X),
    ("MC det(X) X⁻ᵀ written (X⁻¹)ᵀ", mc.det(X) * mc.inv(X).T, mc.det(X), X),
    ("MC det via inv(Xᵀ)", mc.det(X) * mc.inv(X.T), mc.det(X), X),
    ("MC ln det X", mc.inv(X.T), mc.logdet(X), X),
    ("MC aᵀXb = abᵀ", mc.outer(c_, b_), c_.T @ Y @ b_, Y),
    ("MC aᵀXb = (baᵀ)ᵀ", (b_ @ c_.T).T, c_.T @ Y @ b_, Y),
    ("MC aᵀX⁻¹b", -(mc.inv(X) @ b_ @ a_.T @ mc.inv(X)).T, a_.T @ mc.inv(X) @ b_, X),
    ("MC tr(X⁻¹)", -(mc.inv(X) @ mc.inv(X)).T, mc.trace(mc.inv(X)), X),
    ("MC tr(X⁻¹) as inv(X²)", -mc.inv(X @ X).T, mc.trace(mc.inv(X)), X),
    (
        "MC bᵀXᵀXc",
        Y @ b_ @ mc.vector("c", n).T + Y @ mc.vector("c", n) @ b_.T,
        b_.T @ Y.T @ Y @ mc.vector("c", n),
        Y,
    ),
    (
        "MC (Xb+c)ᵀD(Xb+c) split",
        D @ (Y @ b_ + c_) @ b_.T + D.T @ (Y @ b_ + c_) @ b_.T,
        (Y @ b_ + c_).T @ D @ (Y @ b_ + c_),
        Y,
    ),
    ("MC ‖x‖ = x/sqrt(xᵀx)", x / mc.sqrt(x.T @ x), mc.norm(x), x),
    ("MC ‖X‖²_F = X + X", X + X, mc.norm(X) ** 2, X),
    ("‖Wx − y‖² w.r.t. W", 2 * mc.outer(W @ x - y, x), mc.sum((W @ x - y) ** 2), W),
    ("‖Wx − y‖² w.r.t. x", 2 * (W.T @ W @ x - W.T @ y), mc.sum((W @ x - y) ** 2), x),
    (
        "logistic gradient",
        logistic_inputs.T @ (-labels * (1 - mc.sigmoid(labels * (logistic_inputs @ w)))),
        logistic,
        w,
    ),
    ("softmax cross-entropy", mc.exp(zz) / mc.sum(mc.exp(zz)) - yy, softmax_ce, zz),
    ("logsumexp gradient", mc.exp(x - mc.logsumexp(x)), mc.logsumexp(x), x),
    ("PH neuron w.r.t. w", x * relu_prime_neuron, neuron, w),
    ("PH neuron w.r.t. b", relu_prime_neuron, neuron, wb),
    ("PH loss w.r.t. w", 2 / N * (Xd @ ((mc.maximum(0, zn) - yd) * relu_prime)), loss, w),
    ("PH Jacobian of w ⊙ x", mc.eye(n) * x, w * x, w),
    ("PH Jacobian of w + x", mc.diag(mc.ones(n, 1)), w + x, x),
    ("PH Jacobian of w − x", -1 * mc.eye(n), w - x, x),
    ("PH Jacobian of x s w.r.t. s", x, x * s, s),
    ("PH Jacobian of x s w.r.t. x", s * mc.eye(n), x * s, x),
    ("PH Jacobian of σ(x)", mc.diag(mc.sigmoid(x)) - mc.diag(mc.sigmoid(x) ** 2), mc.sigmoid(x), x),
    (
        "Jacobian of softmax",
        mc.diag(mc.softmax(x)) - mc.outer(mc.softmax(x), mc.softmax(x)),
        mc.softmax(x),
        x,
    ),
    ("Hessian of xᵀAx", A.T + A, A @ x + A.T @ x, x),
    ("x³ summed", 3 * x * x, mc.sum(x**3), x),
    (
        "log summed",
        x**-1,
        mc.sum(mc.log(x * x + 1) / 2 - mc.log(mc.sqrt(x * x + 1)) + mc.log(mc.abs(x))),
        x,
    ),
    ("sqrt summed", 1 / (2 * mc.sqrt(x * x + 1)) * 2 * x, mc.sum(mc.sqrt(x * x + 1)), x),
    ("tanh summed", (1 - mc.tanh(x)) * (1 + mc.tanh(x)), mc.sum(mc.tanh(x)), x),
    ("abs summed", x / mc.abs(x), mc.sum(mc.abs(x)), x),
    ("max summed", (mc.maximum(x, v_) - v_) / (x - v_), mc.sum(mc.maximum(x, v_)), x),
    ("exp(2x) summed", mc.exp(2 * x) + mc.exp(2 * x), mc.sum(mc.exp(2 * x)), x),
    ("cos summed", -mc.sin(x), mc.sum(mc.cos(x)), x),
    ("mean", mc.ones(n, 1) / n, mc.sum(x) / n, x),
]
