"""Property tests on random well-shaped expression trees (hypothesis)."""

from __future__ import annotations

import numpy as np
from helpers import assert_close, check_gradients
from hypothesis import given, settings
from hypothesis import strategies as st
from random_trees import n, tree_depth, trees, values_for

import matcalc as mc

SIZES = st.tuples(st.integers(1, 3), st.integers(1, 3))


@given(trees(), st.integers(0, 2**31), SIZES)
def test_gradient_of_random_tree_matches_finite_differences(f, seed, sizes) -> None:
    assert tree_depth(f) >= 4
    values = values_for(seed, sizes)
    value = mc.evaluate(f, values)
    if not np.isfinite(value) or abs(value) > 1e6:
        return  # a tree whose value is out of floating-point range has no useful FD
    check_gradients(f, values, wrt=sorted(mc.variables(f)), rtol=2e-5)


@settings(max_examples=40)
@given(trees(shape=(n, 1), depth=4), st.integers(0, 2**31), SIZES)
def test_simplify_is_idempotent_and_keeps_the_value(f, seed, sizes) -> None:
    once = mc.simplify(f)
    assert mc.simplify(once) is once
    assert once.shape == f.shape
    values = values_for(seed, sizes)
    assert_close(mc.evaluate(once, values), mc.evaluate(f, values), rtol=1e-9, what=str(f))


@settings(max_examples=40)
@given(trees(shape=(n, 1), depth=4), st.integers(0, 2**31), SIZES)
def test_textbook_form_keeps_the_value_is_no_larger_and_idempotent(f, seed, sizes) -> None:
    """The textbook form (sympy's elementwise algebra, gathered transposes) of a tree
    and of its gradient never changes a value, never grows, and is a fixed point."""
    from matcalc.algebra import textbook_forms, tree_size

    expr = mc.simplify(f)
    gradient = mc.grad(mc.sum(expr), sorted(mc.variables(f).values(), key=lambda v: v.name)[0])
    values = values_for(seed, sizes)
    for before in (expr, gradient):
        (after,) = textbook_forms(before)
        assert after.shape == before.shape
        assert tree_size(after) <= tree_size(before)
        assert mc.text(textbook_forms(after)[0]) == mc.text(after)
        a, b = mc.evaluate(after, values), mc.evaluate(before, values)
        if np.all(np.isfinite(b)) and np.max(np.abs(b), initial=0) < 1e6:
            assert_close(a, b, rtol=1e-8, what=str(before))
