"""Bad input gets a clear matcalc error naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc as mc

n, m = mc.dims("n m")
x, y = mc.vector("x", n), mc.vector("y", m)
W = mc.matrix("W", m, n)


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: W @ y, "matmul: W is (m, n) but y is (m, 1)"),
        (lambda: x + y, "add: x is (n, 1) but y is (m, 1)"),
        (lambda: x - W, "subtract: x is (n, 1) but W is (m, n)"),
        (lambda: x * y, "multiply: x is (n, 1) but y is (m, 1)"),
        (lambda: x / y, "divide: x is (n, 1) but y is (m, 1)"),
        (lambda: x**y, "power: x is (n, 1) but y is (m, 1)"),
        (lambda: mc.maximum(x, y), "maximum: x is (n, 1) but y is (m, 1)"),
        (lambda: mc.trace(W), "trace: needs a square matrix but W is (m, n)"),
        (lambda: mc.det(W), "det: needs a square matrix but W is (m, n)"),
        (lambda: mc.logdet(W), "logdet: needs a square matrix but W is (m, n)"),
        (lambda: mc.inv(W), "inv: needs a square matrix but W is (m, n)"),
        (lambda: mc.diag(W), "diag: needs a column vector or a square matrix but W is (m, n)"),
        (lambda: mc.dot(x, y), "dot: x is (n, 1) but y is (m, 1)"),
        (lambda: mc.dot(W, x), "dot: needs two vectors"),
        (lambda: mc.outer(W, x), "outer: needs two vectors"),
        (lambda: mc.sum(x, axis=2), "sum: axis must be None, 0 or 1, got 2"),
        (lambda: mc.vector("v", 0), "vector v: size must be a positive integer, got 0"),
        (lambda: mc.matrix("M", 2.5, 2), "matrix M: 2.5 is not a size"),
        (lambda: mc.matrix("M", 2, "not a name"), "matrix M: 'not a name' is not a size"),
        (lambda: mc.matrix("2x", 2, 2), "matrix: the name must be an identifier, got '2x'"),
        (lambda: mc.dims("n 2m"), "dims: the name must be an identifier, got '2m'"),
    ],
)
def test_shape_errors_name_the_operation_and_both_shapes(build, message) -> None:
    with pytest.raises(mc.MatcalcError) as caught:
        build()
    assert message in str(caught.value)


def test_shape_error_is_the_api_type() -> None:
    with pytest.raises(mc.ShapeError):
        W @ y
    assert issubclass(mc.ShapeError, ValueError)


def test_operands_that_are_not_expressions() -> None:
    with pytest.raises(mc.OperandError, match="add: str is not a number"):
        x + "a"
    with pytest.raises(mc.OperandError, match="matmul: ndarray"):
        x.T @ np.ones(3)
    with pytest.raises(mc.OperandError, match="multiply"):
        None * x
    with pytest.raises(TypeError, match="no truth value"):
        bool(x)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: mc.grad(W @ x, x), "grad: f must be a scalar but W x is (m, 1)"),
        (
            lambda: mc.grad(mc.sum(x), x + 1),
            "grad: can only differentiate with respect to a variable",
        ),
        (lambda: mc.grad(mc.sum(x), "x"), "not 'x'"),
        (lambda: mc.jacobian(W, x), "jacobian: F must be a scalar or a vector but W is (m, n)"),
        (
            lambda: mc.jacobian(mc.sum(W), W),
            "jacobian: x must be a scalar or a vector but W is (m, n)",
        ),
        (lambda: mc.jacobian(mc.sum(x), 2 * x), "jacobian: can only differentiate"),
        (lambda: mc.hessian(W @ x, x), "hessian: f must be a scalar"),
        (lambda: mc.hessian(mc.sum(W), W), "hessian: x must be a column vector but W is (m, n)"),
        (lambda: mc.jacobian(mc.sum(W * x.T, axis=1), x), "3-index tensor"),
    ],
)
def test_derivative_misuse(call, message) -> None:
    with pytest.raises(mc.DerivativeError) as caught:
        call()
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "values,error,message",
    [
        ({"W": np.ones((2, 3))}, mc.EvaluationError, "no value given for x"),
        (
            {"W": np.ones((2, 3)), "x": np.ones(4)},
            mc.ShapeError,
            "dimension n is 3 from W but 4 from x",
        ),
        (
            {"W": np.ones((2, 3)), "x": np.ones((3, 2))},
            mc.ShapeError,
            "x is (n, 1) but its value has shape (3, 2)",
        ),
        ({"W": np.ones((2, 3, 1)), "x": np.ones(3)}, mc.EvaluationError, "value of W has 3 axes"),
        ({"W": "abc", "x": np.ones(3)}, mc.EvaluationError, "value of W is not numeric"),
        (
            {"W": np.ones(6), "x": np.ones(3)},
            mc.ShapeError,
            "W is (m, n) but its value has shape (6,)",
        ),
    ],
)
def test_evaluate_rejects_bad_values(values, error, message) -> None:
    with pytest.raises(error) as caught:
        mc.evaluate(W @ x, values)
    assert message in str(caught.value)


def test_evaluate_domain_errors() -> None:
    with pytest.raises(mc.EvaluationError, match="log: needs positive entries"):
        mc.evaluate(mc.log(x), {"x": -np.ones(3)})
    with pytest.raises(mc.EvaluationError, match="sqrt: needs non-negative"):
        mc.evaluate(mc.sqrt(x), {"x": -np.ones(3)})
    A = mc.matrix("A", n, n)
    with pytest.raises(mc.EvaluationError, match="inv: the matrix is singular"):
        mc.evaluate(mc.inv(A), {"A": np.zeros((2, 2))})
    with pytest.raises(mc.EvaluationError, match="logdet: needs det X > 0"):
        mc.evaluate(mc.logdet(A), {"A": -np.eye(3)})
    with pytest.raises(mc.EvaluationError, match="negative base"):
        mc.evaluate(x**0.5, {"x": -np.ones(3)})
    with pytest.raises(mc.EvaluationError, match="size of dimension n is not known"):
        mc.evaluate(mc.ones(n, 1))
