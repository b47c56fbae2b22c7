"""mc.nn: the network's gradients against finite differences and a hand-written
backprop, and training on the digits."""

from __future__ import annotations

import time

import numpy as np
import pytest
from handwritten import backprop
from helpers import assert_close

import matcalc as mc
from matcalc.nn import Network, one_hot

CONFIGS = [
    ([4, 5, 3], "sigmoid", "quadratic"),
    ([4, 5, 3, 2], "tanh", "quadratic"),
    ([4, 6, 3], "relu", "cross_entropy"),
    ([3, 4, 4, 3], "sigmoid", "cross_entropy"),
]


def batch(network: Network, rng, size: int = 7):
    X = rng.normal(size=(network.sizes[0], size))
    Y = one_hot(rng.integers(0, network.sizes[-1], size=size), network.sizes[-1])
    return X, Y


@pytest.mark.parametrize("sizes,activation,cost", CONFIGS)
def test_gradients_match_handwritten_backprop_and_finite_differences(sizes, activation, cost):
    network = Network(sizes, activation=activation, cost=cost)
    rng = np.random.default_rng(len(sizes))
    params = network.init_params(seed=1)
    X, Y = batch(network, rng)
    _, backward = network.compile()
    value, grads = backward(params, X, Y)
    weights = [params[W.name] for W in network.weights]
    biases = [params[b.name] for b in network.biases]
    hand_value, hand_w, hand_b = backprop(weights, biases, X, Y, activation, cost)
    assert value == pytest.approx(hand_value, rel=1e-12)
    for W, g in zip(network.weights, hand_w, strict=True):
        assert_close(grads[W.name], g, rtol=1e-10)
    for b, g in zip(network.biases, hand_b, strict=True):
        assert_close(grads[b.name], g, rtol=1e-10)
    for name in grads:  # central differences of the compiled cost
        flat = params[name].reshape(-1)
        for k in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            moved = {n: v.copy() for n, v in params.items()}
            moved[name].reshape(-1)[k] += 1e-6
            up, _ = backward(moved, X, Y)
            moved[name].reshape(-1)[k] -= 2e-6
            down, _ = backward(moved, X, Y)
            assert (up - down) / 2e-6 == pytest.approx(grads[name].reshape(-1)[k], abs=1e-7)


def test_forward_matches_the_evaluator():
    network = Network([4, 5, 3], activation="tanh", cost="cross_entropy")
    params = network.init_params(seed=2)
    X = np.random.default_rng(0).normal(size=(4, 6))
    forward, _ = network.compile()
    out = forward(params, X)
    expected = mc.evaluate(network.output, {**params, "X": X})
    assert_close(out, expected, rtol=1e-12)
    assert_close(out.sum(axis=0), np.ones(6), rtol=1e-12)


def test_equations_are_nielsens_four():
    network = Network([4, 5, 3, 2], activation="sigmoid", cost="quadratic")
    lines = network.equations()
    assert lines[0].startswith("BP1  δ3 = ") and "σ′(z3)" in lines[0]
    assert lines[1] == "BP2  δ2 = (W3ᵀ δ3) ⊙ σ′(z2)"
    assert "BP3  ∂C/∂b1 = sum(δ1, axis=1)" in lines
    assert "BP4  ∂C/∂W1 = δ1 Xᵀ" in lines and "BP4  ∂C/∂W3 = δ3 a2ᵀ" in lines
    assert network.derivation().result == mc.grad(network.cost, network.parameters)


def test_training_on_digits_reaches_ninety_percent_in_seconds():
    from matcalc.demo import digits

    X_train, y_train, X_test, y_test = digits()
    network = Network([64, 32, 10], activation="relu", cost="cross_entropy")
    start = time.perf_counter()
    params, history = network.train(
        X_train, one_hot(y_train, 10), epochs=5, lr=0.1, batch_size=32, log=None
    )
    seconds = time.perf_counter() - start
    assert network.accuracy(params, X_test, y_test) > 0.90
    assert history[-1]["loss"] < history[0]["loss"]
    assert len(history) == 5 and seconds < 20


def test_the_api_name():
    assert mc.nn.Network is Network
    assert mc.nn.one_hot(np.array([2, 0]), 3).tolist() == [[0, 1], [0, 0], [1, 0]]


def test_bad_networks_and_batches():
    with pytest.raises(mc.MatcalcError, match="sizes"):
        Network([4])
    with pytest.raises(mc.MatcalcError, match="activation"):
        Network([4, 2], activation="swish")
    with pytest.raises(mc.MatcalcError, match="cost"):
        Network([4, 2], cost="hinge")
    network = Network([4, 2])
    with pytest.raises(mc.ShapeError, match="one example per column"):
        network.train(np.ones((5, 4)), np.ones((2, 5)), epochs=1, log=None)
