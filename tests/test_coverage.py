"""Every node type has a derivative rule, an evaluator and a text printer;
every elementwise function has a complete table entry."""

from __future__ import annotations

import pytest

from matcalc import evaluator, text_printer
from matcalc.expr import NODE_TYPES, Expr
from matcalc.functions import FUNCTIONS
from matcalc.rules import RULES


@pytest.mark.parametrize("node_type", NODE_TYPES, ids=[t.__name__ for t in NODE_TYPES])
def test_node_type_is_complete(node_type: type[Expr]) -> None:
    assert node_type in RULES, "no derivative rule"
    assert evaluator.numeric.dispatch(node_type) is not evaluator.numeric.dispatch(Expr)
    assert text_printer.show.dispatch(node_type) is not text_printer.show.dispatch(Expr)
    if node_type.__name__ not in ("Variable", "Const", "Ones", "Zero", "Identity"):
        rule = RULES[node_type]
        assert rule.__doc__ and ("∂" in rule.__doc__ or "d" in rule.__doc__), (
            "rule states its identity"
        )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_table_entry_is_complete(name: str) -> None:
    fn = FUNCTIONS[name]
    assert fn.name == name and fn.text and fn.latex.startswith("\\")
    assert callable(fn.numpy) and callable(fn.scalar)
    assert fn.derivative_text


def test_public_api_names_exist() -> None:
    import matcalc as mc

    for name in (
        "dims vector matrix scalar sigmoid sum exp log tanh relu sin cos sqrt abs maximum trace "
        "det logdet inv diag norm dot outer softmax logsumexp ones zeros eye ShapeError variables "
        "grad jacobian hessian evaluate"
    ).split():
        assert hasattr(mc, name), name
