"""matcalc: matrix calculus by the Jacobian chain rule, for learning and checking.

The public API (see API.md): symbolic dimensions and variables, expressions
with numpy-like operators, ``grad`` / ``jacobian`` / ``hessian``, and the
numpy reference evaluator.
"""

from .constructors import (
    abs,
    cos,
    det,
    diag,
    dot,
    exp,
    eye,
    inv,
    log,
    logdet,
    logsumexp,
    matrix,
    maximum,
    norm,
    ones,
    outer,
    relu,
    scalar,
    sigmoid,
    sin,
    softmax,
    sqrt,
    sum,
    tanh,
    trace,
    vector,
    zeros,
)
from .dims import DerivativeError, EvaluationError, MatcalcError, ShapeError, dims
from .engine import grad, hessian, jacobian
from .evaluate import evaluate
from .expr import Expr, Variable, variables
from .simplifier import simplify
from .text import text

__all__ = [
    "DerivativeError", "EvaluationError", "Expr", "MatcalcError", "ShapeError", "Variable",
    "abs", "cos", "det", "diag", "dims", "dot", "evaluate", "exp", "eye", "grad", "hessian",
    "inv", "jacobian", "log", "logdet", "logsumexp", "matrix", "maximum", "norm", "ones",
    "outer", "relu", "scalar", "sigmoid", "simplify", "sin", "softmax", "sqrt", "sum", "tanh",
    "text", "trace", "variables", "vector", "zeros",
]  # fmt: skip
