"""``import matcalc`` is light: numpy and sympy load with the first expression.

A coarse guard only (benchmarks/bench_derive.py prints the real figure): the
import loads neither sympy nor numpy, and takes under a generous bound in a
fresh process (median of 3); every public name still resolves on first use.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import matcalc
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "sympy": "sympy" in sys.modules,
                  "numpy": "numpy" in sys.modules}))
"""

BOUND = 1.0  # seconds: far above the ≈ 0.02 s it takes, far below the 0.8 s of an eager import


def _child(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout)


def test_import_loads_neither_sympy_nor_numpy_and_is_fast() -> None:
    runs = [_child(CHILD) for _ in range(3)]
    assert not any(run["sympy"] for run in runs)
    assert not any(run["numpy"] for run in runs)
    assert statistics.median(run["seconds"] for run in runs) < BOUND


def test_public_names_resolve_on_first_use() -> None:
    code = r"""
import json
import matcalc.nn  # a submodule first: check, dims, jacobian, parse stay the functions
import matcalc as mc
x = mc.vector("x", 3)
names = {name: type(getattr(mc, name)).__name__ for name in mc.__all__}
print(json.dumps({"names": names, "text": str(mc.grad(mc.sum(mc.sigmoid(x)), x)),
                  "dir": sorted(set(mc.__all__) - set(dir(mc)))}))
"""
    found = _child(code)
    assert found["text"] == "σ′(x)"
    assert found["dir"] == []
    kinds = found["names"]
    for name in ("check", "dims", "jacobian", "parse", "grad", "derive", "compile", "evaluate"):
        assert kinds[name] == "function", name
    assert kinds["nn"] == "module"
    assert kinds["Expr"] == "type" and kinds["MatcalcError"] == "type"


def test_a_submodule_prints_expressions() -> None:
    """from matcalc import expr loads the printers too (they register with expr)."""
    code = r"""
import json
from matcalc import expr as E
from matcalc.dims import dims
n = dims("n")
v = E.Variable.make("v", n, 1, "vector", frozenset())
print(json.dumps({"text": str(E.Neg.make(v))}))
"""
    assert _child(code)["text"] == "−v"
