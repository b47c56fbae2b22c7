"""A hand-written vectorized numpy backprop: the reference for tests and benchmarks."""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def backprop(weights, biases, X, Y, activation="sigmoid", cost="quadratic"):
    """(cost, [∂C/∂W], [∂C/∂b]) for a batch X (one example per column)."""
    batch = X.shape[1]
    a, activations, zs = X, [X], []
    last = len(weights) - 1
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = W @ a + b
        zs.append(z)
        if i == last and cost == "cross_entropy":
            a = z
        elif activation == "sigmoid":
            a = sigmoid(z)
        elif activation == "tanh":
            a = np.tanh(z)
        else:
            a = np.maximum(z, 0.0)
        activations.append(a)
    if cost == "quadratic":
        diff = a - Y
        value = 0.5 * np.sum(diff * diff) / batch
        delta = diff / batch
    else:
        top = z.max(axis=0, keepdims=True)
        e = np.exp(z - top)
        total = e.sum(axis=0, keepdims=True)
        value = (np.sum(top + np.log(total)) - np.sum(Y * z)) / batch
        delta = (e / total - Y) / batch
    grads_w, grads_b = [None] * len(weights), [None] * len(weights)
    for i in range(last, -1, -1):
        z, a_out = zs[i], activations[i + 1]
        if not (i == last and cost == "cross_entropy"):
            if activation == "sigmoid":
                delta = delta * a_out * (1 - a_out)
            elif activation == "tanh":
                delta = delta * (1 - a_out * a_out)
            else:
                delta = delta * (z > 0)
        grads_w[i] = delta @ activations[i].T
        grads_b[i] = delta.sum(axis=1, keepdims=True)
        if i > 0:
            delta = weights[i].T @ delta
    return value, grads_w, grads_b
