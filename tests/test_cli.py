"""The command line: outputs, exit codes, errors as one line and a caret."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from matcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_grad_with_steps_on_the_one_layer_cost(capsys) -> None:
    code, out, err = run(
        capsys, "grad", "sum((sigmoid(W@x + b) - y)**2)/2", "--wrt", "W", "--shape", "b=m",
        "--steps", "--name", "C",
    )  # fmt: skip
    assert code == 0 and err == ""
    assert "∂C/∂z = (r ⊙ σ′(z))ᵀ =: δᵀ" in out
    assert "∂C/∂W = δ xᵀ" in out


def test_grad_jacobian_hessian(capsys) -> None:
    assert run(capsys, "grad", "x'*A*x", "--wrt", "x")[1] == "∂f/∂x = (A + Aᵀ) x\n"
    assert run(capsys, "hessian", "x'*A*x", "--wrt", "x")[1] == "∂²f/∂x∂xᵀ = A + Aᵀ\n"
    assert run(capsys, "jacobian", "sigmoid(W@x)", "--wrt", "x")[1] == "∂f/∂x = diag(σ′(W x)) W\n"
    out = run(capsys, "jacobian", "sigmoid(W@x)", "--wrt", "x", "--layout", "denominator")[1]
    assert out == "∂f/∂x = Wᵀ diag(σ′(W x))\n"
    latex = run(capsys, "grad", "x.T@A@x", "--wrt", "x", "--latex")[1]
    assert latex.strip() == r"\left(A + A^\top\right) \mathbf{x}"


def test_hessian_steps_are_the_jacobian_of_the_gradient(capsys) -> None:
    code, out, _ = run(capsys, "hessian", "x'*A*x", "--wrt", "x", "--steps")
    assert code == 0
    assert "∇f = (A + Aᵀ) x" in out and "∂∇f/∂x = A + Aᵀ" in out


def test_latex_and_pdf_files(capsys, tmp_path) -> None:
    import shutil

    tex, pdf = tmp_path / "d.tex", tmp_path / "d.pdf"
    code, out, err = run(capsys, "grad", "log(det(X))", "--wrt", "X", "--latex", str(tex))
    assert code == 0 and tex.read_text().startswith("\\documentclass")
    if shutil.which("pdflatex"):
        code, out, err = run(capsys, "grad", "log(det(X))", "--wrt", "X", "--pdf", str(pdf))
        assert code == 0 and pdf.exists()


def test_check_exit_codes_and_diagnosis(capsys) -> None:
    code, out, _ = run(capsys, "check", "x'*A*x", "--wrt", "x", "--claim", "(A + A')*x")
    assert code == 0 and out.startswith("ok: correct")
    code, out, _ = run(capsys, "check", "x'*A*x", "--wrt", "x", "--claim", "A*x")
    assert code == 1 and out == "wrong: a term is missing: ∂f/∂x also has Aᵀ x\n"
    code, out, _ = run(
        capsys, "check", "sum((sigmoid(W@x + b) - y)**2)/2", "--wrt", "W", "--shape", "b=m",
        "--claim", "x@((sigmoid(W@x + b) - y)*sigmoid(W@x + b)*(1 - sigmoid(W@x + b))).T",
    )  # fmt: skip
    assert code == 1 and "transpose" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["grad", "foo(x) + 1", "--wrt", "x"], "unknown function 'foo'"),
        (["grad", "x +", "--wrt", "x"], "ends too early"),
        (["grad", "W@y", "--wrt", "W", "--shape", "W=2,3", "--shape", "y=4"], "matmul"),
        (["grad", "x.T@x", "--wrt", "z"], "--wrt z is not a variable"),
        (["grad", "W@x", "--wrt", "W"], "not a scalar"),
        (["grad", "x", "--wrt", "x", "--shape", "x"], "--shape takes NAME=SIZES"),
        (
            ["check", "x.T@x", "--wrt", "x", "--claim", "__import__('os')"],
            "transpose ' must follow",
        ),
    ],
)
def test_errors_are_one_line_and_a_caret_never_a_traceback(capsys, argv, message) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.rstrip("\n").splitlines()
    assert message in lines[0] and "Traceback" not in err
    assert len(lines) <= 3  # the message; a long one puts the formula on its own line
    if len(lines) > 1:
        assert set(lines[-1].strip()) == {"^"}


def test_usage_errors_exit_two(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["grad", "x"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    assert "a-g are scalars, h-z vectors, A-Z matrices" in " ".join(capsys.readouterr().out.split())


def test_code_prints_a_self_contained_checked_function(capsys, tmp_path) -> None:
    code, out, _ = run(
        capsys, "code", "sum((sigmoid(W@x + b) - y)**2)/2", "--wrt", "W", "--shape", "b=m"
    )
    assert code == 0 and "def f_and_gradient(_v0, _v1, _v2, _v3):" in out
    assert "ARGUMENT_NAMES = ('W', 'b', 'x', 'y', )" in out and "def check_gradient" in out
    script = tmp_path / "generated.py"
    script.write_text(out)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    error = float(re.search(r"gradient: ([0-9.e+-]+)", done.stdout).group(1))
    assert error < 1e-6


def test_python_dash_m_and_the_readme_examples() -> None:
    """Each `$ matcalc ...` example of the README, run through python -m matcalc."""
    import shlex

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```console\n(.*?)```", readme, re.S)
    assert blocks
    for block in blocks:
        lines = block.splitlines()
        commands = [i for i, line in enumerate(lines) if line.startswith("$ matcalc ")]
        for n, i in enumerate(commands):
            end = commands[n + 1] if n + 1 < len(commands) else len(lines)
            expected = "\n".join(lines[i + 1 : end]).strip()
            argv = shlex.split(lines[i][len("$ matcalc ") :])
            done = subprocess.run(
                [sys.executable, "-m", "matcalc", *argv], capture_output=True, text=True, cwd=ROOT
            )
            assert (done.stdout + done.stderr).strip() == expected, lines[i]


MD_PROOF = """# A proof

```math
\\nabla_{\\mathbf{x}} f &= A \\mathbf{x} + A^\\top \\mathbf{x} \\\\
  &= (A + A^\\top) \\mathbf{x}
```
"""


def test_check_proof_reads_a_markdown_math_block(capsys, tmp_path) -> None:
    path = tmp_path / "proof.md"
    path.write_text(MD_PROOF)
    code, out, _ = run(capsys, "check-proof", str(path), "--f", "x.T@A@x", "--wrt", "x")
    assert code == 0 and out.startswith("correct: every step holds")
    assert "✓ (A + Aᵀ) x" in out and "[distributivity" in out
    path.write_text(MD_PROOF.replace("(A + A^\\top)", "(A - A^\\top)"))
    code, out, _ = run(capsys, "check-proof", str(path), "--f", "x.T@A@x", "--wrt", "x")
    assert code == 1 and "step 2 → 3 is wrong" in out and "✗" in out


def test_check_proof_text_from_stdin_and_errors(capsys, monkeypatch, tmp_path) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("z := W@x\ndf/dx = W.T@ones(m)\n"))
    code, out, _ = run(capsys, "check-proof", "-", "--f", "sum(W@x)", "--wrt", "x",
                       "--shape", "W=m,n")  # fmt: skip
    assert code == 0, out
    code, _, err = run(capsys, "check-proof", str(tmp_path / "missing.tex"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "check-proof", str(tmp_path / "missing.tex"), "--wrt", "x")
    assert code == 2
    bad = tmp_path / "bad.tex"
    bad.write_text("\\begin{align*} a &= \\input{x} \\end{align*}")
    code, _, err = run(capsys, "check-proof", str(bad))
    assert code == 2 and "\\input is not one the reader knows" in err


@pytest.mark.parametrize(
    ("argv", "code", "first_line"),
    [
        (["--version"], 0, "matcalc "),
        (["grad", "-x.T@x", "--wrt", "x"], 0, "∂f/∂x = −2 x"),
        (["grad", "--", "-x.T@x", "--wrt", "x"], 0, "∂f/∂x = −2 x"),
        (["check", "x.T@x", "--wrt", "x", "--claim", "-2*x"], 1, "wrong: wrong sign"),
        (["grad", "x.T@A@x + b.T@x", "--wrt", "x", "--wrt", "b", "--shape", "b=n"], 0,
         "∂f/∂x = (A + Aᵀ) x + b"),
        (["jacobian", "A@x", "--wrt", "x", "--wrt", "A"], 2, "matcalc: jacobian takes one --wrt"),
    ],
)  # fmt: skip
def test_command_line_words_as_meant(argv, code, first_line) -> None:
    """Issue 14's CLI cases, as a user runs them (a subprocess)."""
    done = subprocess.run(
        [sys.executable, "-m", "matcalc", *argv], capture_output=True, text=True, cwd=ROOT
    )
    shown = (done.stdout or done.stderr).splitlines()[0]
    assert done.returncode == code and shown.startswith(first_line), (done.returncode, shown)


def test_the_demo_without_its_extra_names_it(capsys, monkeypatch) -> None:
    """After a plain pip install (no scikit-learn), matcalc demo names the extra."""
    from matcalc import demo

    monkeypatch.setattr(demo, "load_digits", None)  # as its import would leave it
    code, _, err = run(capsys, "demo")
    assert code == 2 and "pip install 'matcalc-chainrule[demo]'" in err
