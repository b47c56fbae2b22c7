"""matcalc: matrix calculus by the Jacobian chain rule, for learning and checking.

The public API (see API.md): symbolic dimensions and variables, expressions
with numpy-like operators, ``grad`` / ``jacobian`` / ``hessian``, and the
numpy reference evaluator.
"""

from . import nn
from .check import Verdict, check, equivalent
from .codegen import CompiledFunction, compile
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
from .derivation import Derivation, LatexError, Step, derive
from .dims import (
    DeclarationError,
    DerivativeError,
    EvaluationError,
    MatcalcError,
    OperandError,
    ShapeError,
    dims,
)
from .dims import format_shape as _format_shape
from .engine import grad, hessian, jacobian
from .evaluator import evaluate
from .expr import Expr, Variable, variables
from .latex_printer import latex, markdown
from .parse import ParseError, parse
from .simplifier import simplify
from .text_printer import text


def text_shape(expr: Expr) -> str:
    """An expression's shape as text, e.g. ``(m, n)``."""
    return _format_shape(expr.shape)


__all__ = [
    "DeclarationError", "Derivation", "DerivativeError", "EvaluationError", "LatexError",
    "Step", "Verdict", "check", "compile", "CompiledFunction", "derive", "equivalent", "Expr",
    "MatcalcError", "ParseError", "nn", "parse",
    "OperandError", "ShapeError", "Variable",
    "abs", "cos", "det", "diag", "dims", "dot", "evaluate", "exp", "eye", "grad", "hessian",
    "inv", "jacobian", "latex", "log", "logdet", "logsumexp", "markdown", "matrix", "maximum",
    "norm", "ones",
    "outer", "relu", "scalar", "sigmoid", "simplify", "sin", "softmax", "sqrt", "sum", "tanh",
    "text", "text_shape", "trace", "variables", "vector", "zeros",
]  # fmt: skip
