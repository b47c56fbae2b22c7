"""matcalc: matrix calculus by the Jacobian chain rule, for learning and checking.

The public API (README.md shows it in use): symbolic dimensions and variables, expressions
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
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    step,
    sum,
    tanh,
    trace,
    vector,
    zeros,
)
from .derivation import Derivation, Step
from .dims import dims
from .dims import format_shape as _format_shape
from .engine import grad, hessian, jacobian
from .errors import (
    ConstantError,
    DeclarationError,
    DerivativeError,
    EvaluationError,
    LatexError,
    MatcalcError,
    OperandError,
    ParseError,
    ShapeError,
)
from .evaluator import evaluate
from .expr import Expr, Variable, variables
from .parse import parse
from .printing import latex, markdown, text
from .proof import ProofVerdict, check_proof
from .simplifier import simplify
from .stepwise import derive


def text_shape(expr: Expr) -> str:
    """An expression's shape as text, e.g. ``(m, n)``."""
    return _format_shape(expr.shape)


__all__ = [
    "ConstantError", "DeclarationError", "Derivation", "DerivativeError", "EvaluationError",
    "LatexError", "MatcalcError", "OperandError", "ParseError", "ShapeError",
    "ProofVerdict", "Step", "Verdict", "check", "check_proof", "compile", "CompiledFunction",
    "derive", "equivalent", "Expr", "nn", "parse", "Variable",
    "abs", "cos", "det", "diag", "dims", "dot", "evaluate", "exp", "eye", "grad", "hessian",
    "inv", "jacobian", "latex", "log", "logdet", "logsumexp", "markdown", "matrix", "maximum",
    "norm", "ones", "outer", "relu", "scalar", "sigmoid", "sign", "simplify", "sin", "softmax",
    "softplus", "sqrt", "step", "sum", "tanh", "text", "text_shape", "trace", "variables",
    "vector", "zeros",
]  # fmt: skip
