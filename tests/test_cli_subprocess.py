"""The command line as a user runs it: ``python -m matcalc ...`` in a subprocess.

Exit codes (README): 0 success, 1 a check that fails, 2 bad input (one line on
stderr, plus the formula and a caret for a mistake in a formula), 3 an internal
error.  Every run starts once, all of them together in a few threads (a start
costs about a second), and each test looks at its own run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RUNS: dict[str, list[str]] = {
    "minus after --": ["grad", "--", "-x'*x", "--wrt", "x"],
    "minus": ["grad", "-x'*x", "--wrt", "x"],
    "minus numpy": ["grad", "-x.T@x", "--wrt", "x"],
    "claim minus ok": ["check", "-x'*x", "--wrt", "x", "--claim", "-2*x"],
    "claim minus wrong": ["check", "x'*x", "--wrt", "x", "--claim", "-2*x"],
    "two wrt": [
        "grad", "sum((sigmoid(W@x + b) - y)**2)/2", "--wrt", "W", "--wrt", "b", "--shape", "b=m",
    ],
    "scalar b": ["grad", "sum((sigmoid(W@x + b) - y)**2)/2", "--wrt", "b"],
    "version": ["--version"],
    "jacobian of x": ["jacobian", "x", "--wrt", "x"],
    "hessian": ["hessian", "x'*A*x", "--wrt", "x"],
    "ambiguous": ["grad", "tr(X*X)", "--wrt", "X"],
    "ambiguous matlab": ["grad", "tr(X*X)", "--wrt", "X", "--syntax", "matlab"],
    "ambiguous numpy": ["grad", "tr(X*X)", "--wrt", "X", "--syntax", "numpy"],
    "ambiguous square declared": ["grad", "tr(X*X)", "--wrt", "X", "--shape", "X=n,n"],
    "settled elementwise": [
        "grad", "sum(A*B)", "--wrt", "A", "--shape", "A=m,n", "--shape", "B=m,n",
    ],
    "settled matmul": [
        "grad", "sum(A*B)", "--wrt", "A", "--shape", "A=m,n", "--shape", "B=n,p",
    ],
    "unclosed bracket": ["grad", "x'*A*(x", "--wrt", "x"],
    "ends early": ["grad", "x'*A*x +", "--wrt", "x"],
    "unknown function": ["grad", "x'*x + foo(x)", "--wrt", "x"],
    "semicolon": ["grad", "x'*x; y'*y", "--wrt", "x"],
    "mixes": ["grad", "x'*A@x", "--wrt", "x"],
    "shape without =": ["grad", "x'*A*x", "--wrt", "x", "--shape", "A"],
    "shape three sizes": ["grad", "x'*A*x", "--wrt", "x", "--shape", "A=n,n,n"],
    "shape bad size": ["grad", "x'*A*x", "--wrt", "x", "--shape", "x=-1"],
    "shape empty": ["grad", "x'*A*x", "--wrt", "x", "--shape", "A="],
    "wrt unknown": ["grad", "x'*A*x", "--wrt", "z"],
    "grad of a vector": ["grad", "A*x", "--wrt", "x"],
}  # fmt: skip


def run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "matcalc", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        started = {key: pool.submit(run, argv) for key, argv in RUNS.items()}
        return {key: future.result() for key, future in started.items()}


def succeeded(result: subprocess.CompletedProcess, code: int = 0) -> list[str]:
    """The lines of standard output of a run that exits with code and says nothing on
    standard error."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result.stdout.splitlines()


def refused(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The first line of standard error of a run refused with code: one line naming
    matcalc, no traceback, nothing on standard output."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines, "nothing on stderr"
    first = lines[0]
    assert first.startswith("matcalc: "), first
    assert "internal error" not in first, first
    return first


def only_line(result: subprocess.CompletedProcess) -> str:
    first = refused(result)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return first


def caret_at(result: subprocess.CompletedProcess, formula: str, position: int) -> None:
    """stderr shows the formula with a caret under its character at position."""
    lines = result.stderr.splitlines()
    for shown, below in zip(lines, lines[1:], strict=False):
        if shown.endswith(formula) and below.strip() == "^":
            start = len(shown) - len(formula)
            assert below.index("^") - start == position, result.stderr
            return
    raise AssertionError(f"no caret under {formula!r}:\n{result.stderr}")


# -- a formula or a claim that starts with a minus --------------------------------------------
@pytest.mark.parametrize("key", ["minus after --", "minus", "minus numpy"])
def test_formula_starting_with_a_minus(runs, key):
    assert succeeded(runs[key]) == ["∂f/∂x = −2 x"]


def test_claim_starting_with_a_minus(runs):
    (line,) = succeeded(runs["claim minus ok"])
    assert line.startswith("ok: ")
    (line,) = succeeded(runs["claim minus wrong"], code=1)  # the claim was read, and is wrong
    assert line.startswith("wrong: ") and "sign" in line


# -- results -----------------------------------------------------------------------------------
def test_several_wrt_print_each_gradient(runs):
    lines = succeeded(runs["two wrt"])
    assert len(lines) == 2, lines
    assert lines[0].startswith("∂f/∂W = ") and lines[0].endswith("xᵀ"), lines
    assert lines[1].startswith("∂f/∂b = ") and "σ′(W x + b)" in lines[1], lines


def test_a_scalar_by_the_first_letter_rule_is_noted(runs):
    result = runs["scalar b"]
    assert result.returncode == 0 and result.stdout.startswith("∂f/∂b = ")
    assert result.stderr.splitlines()[0] == (
        "matcalc: note: b is a scalar because it starts with a lower-case letter from a to g; "
        "declare --shape b=m if it is a vector"
    )


def test_version(runs):
    (line,) = succeeded(runs["version"])
    assert re.fullmatch(r"matcalc \d+\.\d+(\.\d+)?\S*", line), line


def test_jacobian_of_the_variable_itself(runs):
    assert succeeded(runs["jacobian of x"]) == ["∂f/∂x = I"]


def test_hessian(runs):
    assert succeeded(runs["hessian"]) == ["∂²f/∂x∂xᵀ = A + Aᵀ"]


# -- ambiguous text ----------------------------------------------------------------------------
def test_ambiguous_formula_is_refused_naming_both_readings(runs):
    first = refused(runs["ambiguous"])
    assert "ambiguous" in first
    assert "tr(X ⊙ X)" in first and "tr(X X)" in first, first
    assert "--syntax" in first, first
    caret_at(runs["ambiguous"], "tr(X*X)", 4)


def test_ambiguous_formula_with_a_square_declared_is_still_refused(runs):
    first = refused(runs["ambiguous square declared"])
    assert "ambiguous" in first and "tr(X ⊙ X)" in first and "tr(X X)" in first, first


def test_ambiguous_formula_with_syntax_given(runs):
    assert succeeded(runs["ambiguous matlab"]) == ["∂f/∂X = 2 Xᵀ"]
    (numpy_,) = succeeded(runs["ambiguous numpy"])  # ∂ tr(X ⊙ X)/∂X = 2 diag(X) as a matrix
    assert numpy_.startswith("∂f/∂X = ") and numpy_ != "∂f/∂X = 2 Xᵀ", numpy_


def test_ambiguous_formula_settled_by_declared_shapes(runs):
    assert succeeded(runs["settled elementwise"]) == ["∂f/∂A = B"]  # sum(A ⊙ B)
    (line,) = succeeded(runs["settled matmul"])  # sum(A B): 𝟏 𝟏ᵀ Bᵀ
    assert line.startswith("∂f/∂A = ") and line.endswith("Bᵀ") and "𝟏" in line, line


# -- mistakes in a formula: one line, then the formula with a caret ---------------------------
def test_syntax_error_with_a_caret(runs):
    first = refused(runs["unclosed bracket"])
    assert "bracket" in first and "never closed" in first, first
    caret_at(runs["unclosed bracket"], "x'*A*(x", 5)
    first = refused(runs["ends early"])
    assert "ends too early" in first, first
    caret_at(runs["ends early"], "x'*A*x +", len("x'*A*x +"))


def test_unknown_function(runs):
    first = refused(runs["unknown function"])
    assert "unknown function 'foo'" in first, first
    caret_at(runs["unknown function"], "x'*x + foo(x)", 7)


def test_semicolon(runs):
    first = refused(runs["semicolon"])
    assert "one formula at a time" in first and "';'" in first, first
    caret_at(runs["semicolon"], "x'*x; y'*y", 4)


def test_mixed_syntax(runs):
    first = refused(runs["mixes"])
    assert "mixes" in first and "'@'" in first, first
    caret_at(runs["mixes"], "x'*A@x", 4)


# -- malformed --shape, --wrt ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("shape without =", ["--shape", "NAME=SIZES", "'A'"]),
        ("shape three sizes", ["A"]),
        ("shape bad size", ["x", "-1"]),
        ("shape empty", ["A"]),
    ],
)
def test_malformed_shape(runs, key, words):
    line = only_line(runs[key])
    for word in words:
        assert word in line, line
    # in the user's words: no internal prefix, no Python API to a command-line user
    assert not line.startswith("matcalc: parse:"), line
    assert "mc." not in line, line


def test_wrt_not_in_the_formula(runs):
    line = only_line(runs["wrt unknown"])
    assert "z" in line and "A, x" in line, line


def test_grad_of_a_vector_points_to_jacobian(runs):
    line = only_line(runs["grad of a vector"])
    assert "not a scalar" in line and "jacobian" in line, line


def test_the_standalone_code_takes_1d_vectors_as_columns(tmp_path):
    """A numpy user passes (n,) arrays; broadcasting them against columns would give a
    wrong value and a matrix for a gradient."""
    formula = "sum(log(exp(-y.*(X*w)) + vector(1)))"
    result = run(["code", formula, "--wrt", "w"])
    assert result.returncode == 0, result.stderr
    (tmp_path / "generated.py").write_text(result.stdout)
    probe = (
        "import numpy as np, generated\n"
        "r = np.random.default_rng(0)\n"
        "X, y, w = r.normal(size=(5, 3)), r.normal(size=5), r.normal(size=3)\n"
        "value, gradient = generated.f_and_gradient_by_name(X=X, y=y, w=w)\n"
        "t = -y * (X @ w)\n"
        "assert np.isclose(float(np.squeeze(value)), np.sum(np.log(np.exp(t) + 1)))\n"
        "expected = -X.T @ (y / (1 + np.exp(-t)))\n"
        "assert gradient.shape == (3, 1) and np.allclose(gradient.ravel(), expected)\n"
        "print('ok')\n"
    )
    checked = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert checked.stdout.strip() == "ok", checked.stderr
