"""mc.check and mc.equivalent: verdicts and diagnoses a student can act on."""

from __future__ import annotations

import check_cases as K
import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from random_trees import VARIABLES, trees, values_for

import matcalc as mc

PHRASES = {
    "transpose": "is the transpose of",
    "sign": "wrong sign",
    "factor": "off by a factor of",
    "hadamard for matrix product": "where a matrix product belongs",
    "matrix product for hadamard": "where a Hadamard product ⊙ belongs",
    "function for its derivative": "should be its derivative",
    "derivative for the function": "not its derivative",
    "missing term": "a term is missing",
    "extra term": "an extra term",
    "argument order": "in the wrong order",
    "shape": "wrong shape",
    "unknown variable": "which the function does not have",
    "counterexample": "not equal to",
    "domain": "not defined where",
}


@pytest.mark.parametrize("name,claim,f,var,code", K.MISTAKES, ids=[c[0] for c in K.MISTAKES])
def test_planted_mistake_is_rejected_with_its_diagnosis(name, claim, f, var, code) -> None:
    verdict = mc.check(claim, f, var)
    assert not verdict.ok and not bool(verdict)
    assert verdict.diagnosis == code, verdict.message
    assert PHRASES[code] in verdict.message


def test_at_least_sixty_mistakes_across_the_sources() -> None:
    assert len(K.MISTAKES) >= 60
    sources = {name.split()[0] for name, *_ in K.MISTAKES}
    assert {"N", "MC", "PH"} <= sources
    assert set(PHRASES) == {code for *_, code in K.MISTAKES}


@pytest.mark.parametrize("name,claim,f,var", K.CORRECT, ids=[c[0] for c in K.CORRECT])
def test_correct_answer_written_differently_is_accepted(name, claim, f, var) -> None:
    verdict = mc.check(claim, f, var)
    assert verdict.ok and bool(verdict), verdict.message
    assert verdict.method in ("symbolic", "numeric")
    assert verdict.message.startswith("correct")


def test_sixty_correct_variants_and_both_methods() -> None:
    assert len(K.CORRECT) >= 60
    methods = {mc.check(c, f, v).method for _, c, f, v in K.CORRECT}
    assert methods == {"symbolic", "numeric"}


def test_messages_name_the_function() -> None:
    verdict = mc.check(K.x @ K.delta.T, K.C_layer, K.W, name="C")
    assert verdict.message.startswith("your result is the transpose of ∂C/∂W")
    verdict = mc.check(K.delta, K.C_layer, K.W, name="C")
    assert verdict.message == "wrong shape: your result is (m, 1) but ∂C/∂W is (m, n)"
    assert verdict.method == "shape"


def test_counterexample_is_data_and_a_sentence() -> None:
    verdict = mc.check(K.A @ K.A, mc.trace(K.X.T @ K.A), K.X)
    data = verdict.counterexample
    assert data is not None and set(data) >= {"sizes", "entry", "claimed", "expected", "values"}
    assert data["sizes"]["n"] >= 3
    assert (
        f"{data['expected']:.6g}" in verdict.message and f"{data['claimed']:.6g}" in verdict.message
    )


def test_transpose_cannot_pass_by_coincidence_on_square_sizes() -> None:
    """xyᵀ vs yxᵀ agree when every size is 1; the distinct-size set catches it."""
    n, m = mc.dims("n m")
    x, y = mc.vector("x", n), mc.vector("y", m)
    M = mc.matrix("M", m, n)
    verdict = mc.check(M, mc.sum(M * (y @ x.T)), M)
    assert not verdict.ok
    verdict = mc.check(y @ x.T, mc.sum(M * (y @ x.T)), M)
    assert verdict.ok


def test_relu_derivative_must_not_be_forgotten() -> None:
    """Values take both signs away from the kink, so dropping relu′ is caught."""
    x, W = K.x, K.W
    f = mc.sum(mc.relu(W @ x))
    assert mc.check(W.T @ (mc.relu(W @ x) / (W @ x)), f, x).ok
    assert not mc.check(W.T @ mc.ones(W.shape[0], 1), f, x).ok


def test_equivalent() -> None:
    A, x = K.A, K.x
    assert mc.equivalent((A + A.T) @ x, A @ x + A.T @ x).method == "symbolic"
    assert mc.equivalent(mc.trace(K.X.T @ A), mc.trace(A @ K.X.T))
    assert mc.equivalent(mc.sigmoid(x) * (1 - mc.sigmoid(x)), mc.exp(-x) / (1 + mc.exp(-x)) ** 2)
    verdict = mc.equivalent(A @ x, A.T @ x)
    assert not verdict.ok and verdict.counterexample is not None


def test_claim_with_unknown_or_misshapen_names() -> None:
    verdict = mc.check(mc.vector("v", K.m) @ K.x.T, K.C_layer, K.W)
    assert not verdict.ok and "uses v" in verdict.message
    other_y = mc.vector("y", 7)
    verdict = mc.check(other_y @ mc.ones(1, 3), K.C_layer, K.W)
    assert not verdict.ok and "uses y as (7, 1) but the function's y is (m, 1)" in verdict.message
    verdict = mc.check(K.delta @ mc.vector("x", 7).T, K.C_layer, K.W)
    assert not verdict.ok and "one name for two shapes" in verdict.message


# -- properties on random expression trees ----------
VARS = [var for (var,) in VARIABLES.values()]


@settings(max_examples=25)
@given(trees(), st.sampled_from(VARS))
def test_the_engine_passes_its_own_check(f, var) -> None:
    verdict = mc.check(mc.grad(f, var), f, var)
    assert verdict.ok, verdict.message


@settings(max_examples=25)
@given(
    trees(),
    st.sampled_from(VARS),
    st.sampled_from(["ones", "variable"]),
    st.floats(1e-3, 10.0) | st.floats(-10.0, -1e-3),
)
def test_a_perturbed_gradient_never_passes(f, var, kind, epsilon) -> None:
    gradient = mc.grad(f, var)
    perturbation = mc.ones(*var.shape) if kind == "ones" else var
    verdict = mc.check(gradient + epsilon * perturbation, f, var)
    assert not verdict.ok, f"{f}: {verdict.message}"


@settings(max_examples=10)
@given(trees(), st.sampled_from(VARS), st.integers(0, 1000))
def test_check_is_deterministic_for_a_seed(f, var, seed) -> None:
    wrong = mc.grad(f, var) + mc.ones(*var.shape)
    first = mc.check(wrong, f, var, seed=seed)
    second = mc.check(wrong, f, var, seed=seed)
    assert (first.ok, first.message, first.counterexample) == (
        second.ok,
        second.message,
        second.counterexample,
    )


@settings(max_examples=40)
@given(trees(shape=(mc.dims("n"), 1), depth=4), st.integers(0, 2**31))
def test_canonical_form_keeps_the_value(e, seed) -> None:
    """The symbolic stage may only accept what is true: canonical(e) equals e."""
    from matcalc.canonical import canonical

    values = values_for(seed, (2, 3))
    form = canonical(e)
    assert form.shape == e.shape
    assert_close(mc.evaluate(form, values), mc.evaluate(e, values), rtol=1e-8, what=str(e))
    assert canonical(form) is canonical(form)
    assert np.isfinite(mc.evaluate(form, values)).all()


def test_claims_typed_as_text() -> None:
    f = K.quad
    assert mc.check("(A + A.T) @ x", f, K.x).ok
    assert mc.check("(A + A')*x", f, K.x).ok
    verdict = mc.check("A @ x", f, K.x)
    assert verdict.diagnosis == "missing term"
    with pytest.raises(mc.ParseError):
        mc.check("A @", f, K.x)


# -- soundness: wrong answers the numeric stage once accepted (issue 12) -------------
n_, h_, k_ = mc.dims("n h k")
x_, W1, b1 = mc.vector("x", n_), mc.matrix("W1", h_, n_), mc.vector("b1", h_)
W2, b2, t_ = mc.matrix("W2", k_, h_), mc.vector("b2", k_), mc.vector("t", k_)
U = W1 @ x_ + b1
RELU_NET = -mc.sum(t_ * mc.log(mc.softmax(W2 @ mc.relu(U) + b2)))
DELTA2 = mc.sum(t_) * mc.softmax(W2 @ mc.relu(U) + b2) - t_


@pytest.mark.parametrize(
    ("claim", "var"),
    [
        (mc.outer(DELTA2, U), W2),  # forgot the relu: u for relu(u)
        (W2.T @ DELTA2, b1),  # forgot relu′
        (mc.sqrt(x_**2), x_),  # |x| for x
        (mc.exp(mc.log(x_)), x_),  # only defined for x > 0
    ],
    ids=["relu forgotten", "relu′ forgotten", "sqrt of a square", "exp log"],
)
def test_wrong_answers_on_a_relu_network_and_hidden_domains_are_rejected(claim, var) -> None:
    f = RELU_NET if var is not x_ else mc.sum(x_**2) / 2
    assert not mc.check(claim, f, var).ok


def test_the_right_answers_on_the_relu_network_pass() -> None:
    assert mc.check(mc.outer(DELTA2, mc.relu(U)), RELU_NET, W2).ok
    assert mc.check((W2.T @ DELTA2) * mc.step(U), RELU_NET, b1).ok


def test_a_tiny_f_is_compared_at_its_own_scale() -> None:
    """No absolute floor: for f = 1e-8 sum(tanh(W x)), −∇f and 0 are wrong."""
    W = mc.matrix("W", k_, n_)
    f = 1e-8 * mc.sum(mc.tanh(W @ x_))
    g = mc.grad(f, x_)
    assert mc.check(g, f, x_).ok
    assert not mc.check(-g, f, x_).ok
    assert not mc.check(mc.zeros(n_, 1), f, x_).ok


def test_a_steep_sigmoid_is_not_a_step() -> None:
    z = mc.vector("z", n_)
    f = mc.sum(mc.softplus(1000 * z)) / 1000  # its gradient is σ(1000 z)
    assert not mc.check(mc.step(z), f, z).ok


def test_branches_not_reached_are_not_called_correct() -> None:
    """relu(u − 100) is never active on the tests: the verdict says so."""
    f = mc.sum(mc.relu(x_ - 100))
    verdict = mc.check(mc.zeros(n_, 1), f, x_)
    assert not verdict.ok and verdict.diagnosis == "branch not reached"
    assert "never above" in verdict.message
