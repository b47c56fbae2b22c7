"""Every LaTeX form a notebook shows renders in KaTeX (VS Code's renderer, the npm
package run by node, throwOnError and strict) and in MathJax 3 (Jupyter's, with its
default TeX packages): the derivations of the lecture, one per operation of the
operation table, the textbook table's results, network derivations and proof
verdicts, as ``_repr_latex_``, ``latex()`` and the math of ``markdown()``.

node renders the whole batch once for the module (tests/katex/render.js).  CI
installs node and the packages (.ci/run); without them these tests fail, never skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import lectures
import pytest
from operation_specs import SPECS
from proof_corpus import PROOFS
from test_textbook import TABLE

import matcalc as mc

RENDERER = Path(__file__).parent / "katex"
INSTALL = (
    "apt-get install -y nodejs npm; npm install --prefix tests/katex --no-save "
    "--no-package-lock katex@0.16.47 mathjax-full@3.2.2 (.ci/run does both)"
)
# Strings the renderers must refuse, and which: the harness is seen to catch what it
# should (KaTeX sets \small inside \text; MathJax 3 prints it as the letters "\small").
CANARIES = [
    (r"\parbox[t]{6.5cm}{\raggedright x}", {"katex", "mathjax"}),
    (r"\text{\small rule}", {"mathjax"}),
    (r"\frac{1}{", {"katex", "mathjax"}),
    (r"\begin{aligned} a &= b \tag{BP1} \end{aligned}", {"mathjax"}),
    (r"\begin{multline*} a \\ b \end{multline*}", {"katex"}),
]

DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")


def markdown_math(markdown: str) -> list[tuple[str, bool]]:
    """The math of a Markdown text: $$…$$ blocks (display) and $…$ (inline)."""
    blocks = [(m.group(1), True) for m in DISPLAY.finditer(markdown)]
    rest = DISPLAY.sub("", markdown)
    return blocks + [(m.group(1), False) for m in INLINE.finditer(rest)]


def derivation_forms(name: str, derivation: mc.Derivation) -> list[tuple[str, str, bool]]:
    """Each LaTeX string a derivation shows a notebook, named for the report."""
    forms = [
        (f"{name}: _repr_latex_", derivation._repr_latex_(), True),
        (
            f"{name}: latex() in align*",
            f"\\begin{{align*}}{derivation.latex()}\\end{{align*}}",
            True,
        ),
    ]
    forms += [
        (f"{name}: markdown math {i}", latex, display)
        for i, (latex, display) in enumerate(markdown_math(derivation.markdown()))
    ]
    return forms


def expression_forms(name: str, expr: mc.Expr) -> list[tuple[str, str, bool]]:
    shown = expr._repr_latex_()
    assert shown.startswith("$") and shown.endswith("$")
    return [(f"{name}: latex", mc.latex(expr), True), (f"{name}: _repr_latex_", shown[1:-1], False)]


def lecture_cases() -> list[tuple[str, str, bool]]:
    out = []
    for build in (lectures.neuron, lectures.one_layer, lectures.network):
        for key, derivation in build()[0].items():
            out += derivation_forms(key, derivation)
    return out


def operation_cases() -> list[tuple[str, str, bool]]:
    out = []
    for spec in SPECS:
        f = spec.scalar
        variables = spec.wrt
        derivation = mc.derive(f, variables)
        out += derivation_forms(spec.name, derivation)
        results = (
            derivation.result if isinstance(derivation.result, tuple) else (derivation.result,)
        )
        for variable, result in zip(variables, results, strict=True):
            out += expression_forms(f"{spec.name} ∂/∂{variable.name}", result)
        if spec.vector_jacobian and spec.expr.is_vector and not spec.expr.is_scalar:
            var = mc.variables(spec.expr)[spec.vector_jacobian[0]]
            for layout in ("numerator", "denominator"):
                jacobian = mc.derive(spec.expr, var, name="F", layout=layout)
                out += derivation_forms(f"{spec.name} Jacobian, {layout}", jacobian)
    return out


def textbook_cases() -> list[tuple[str, str, bool]]:
    out = []
    for name, _, derived, textbook in TABLE:
        out += expression_forms(f"{name} derived", derived)
        out += expression_forms(f"{name} textbook", textbook)
    return out


def network_cases() -> list[tuple[str, str, bool]]:
    out = []
    for sizes in ([4, 3, 2], [784, 30, 10], [5, 4, 3, 2]):
        for detail in ("compact", "lecture"):
            derivation = mc.nn.Network(sizes).derivation(detail=detail)
            out += derivation_forms(f"Network{sizes}, {detail}", derivation)
    f = mc.parse(
        "sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        {"W1": (30, 784), "x": 784, "b1": 30, "W2": (10, 30), "b2": 10, "y": 10},
    )
    for detail in ("compact", "lecture"):
        derivation = mc.derive(f, mc.variables(f)["W1"], detail=detail)
        out += derivation_forms(f"two sigmoid layers, {detail}", derivation)
    return out


def _delimited(shown: str) -> str:
    """The math of a $$…$$ display."""
    assert shown.startswith("$$") and shown.endswith("$$"), shown[:40]
    return shown[2:-2]


def proof_cases() -> list[tuple[str, str, bool]]:
    """Each corpus proof's verdict, and a wrong one with its first planted mistake."""
    out = []
    for p in PROOFS:
        f = mc.parse(p.f, p.shapes) if p.f else None
        wrt = mc.variables(f)[p.wrt] if f is not None else None
        verdict = mc.check_proof(p.latex, f, wrt, shapes=p.shapes)
        out.append((f"proof {p.name}", _delimited(verdict._repr_latex_()), True))
        if p.mistakes:
            steps = [step.source for step in verdict.steps]
            steps[p.mistakes[0].step] = p.mistakes[0].latex
            wrong = mc.check_proof(steps, f, wrt, where=verdict.definitions, shapes=p.shapes)
            out.append((f"proof {p.name}, mistaken", _delimited(wrong._repr_latex_()), True))
    return out


GROUPS = {
    "lectures": lecture_cases,
    "operations": operation_cases,
    "textbook": textbook_cases,
    "networks": network_cases,
    "proofs": proof_cases,
}


def render(cases: list[tuple[str, str, bool]]) -> list[dict]:
    """Run node once over all cases; the failures, each with its case's index."""
    node = shutil.which("node")
    assert node is not None, f"node is not installed: {INSTALL}"
    for package in ("katex", "mathjax-full"):
        assert (RENDERER / "node_modules" / package).is_dir(), f"{package} is missing: {INSTALL}"
    run = subprocess.run(
        [node, str(RENDERER / "render.js")],
        input=json.dumps([{"latex": latex, "display": display} for _, latex, display in cases]),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=RENDERER,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[str]]:
    """Every group's failures, rendered in one batch: "case (renderer): error"."""
    cases, group_of = [], []
    for group, build in GROUPS.items():
        built = build()
        cases += built
        group_of += [group] * len(built)
    cases += [(f"canary {i}", latex, True) for i, (latex, _) in enumerate(CANARIES)]
    group_of += ["canaries"] * len(CANARIES)
    failures: dict[str, list[str]] = {group: [] for group in [*GROUPS, "canaries"]}
    for failure in render(cases):
        name, latex, _ = cases[failure["index"]]
        if group_of[failure["index"]] == "canaries":
            failures["canaries"].append(f"{name} {failure['renderer']}")
            continue
        failures[group_of[failure["index"]]].append(
            f"{name} ({failure['renderer']}): {failure['error']}\n    {latex[:300]}"
        )
    failures["count"] = [str(len(cases))]
    return failures


def test_the_renderers_refuse_what_they_should(rendered) -> None:
    """\\parbox, a macro inside \\text, an unclosed group, \\tag in aligned and
    multline* each fail where they should."""
    expected = [f"canary {i} {r}" for i, (_, who) in enumerate(CANARIES) for r in sorted(who)]
    assert sorted(rendered["canaries"]) == sorted(expected)


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_form_renders(rendered, group) -> None:
    assert not rendered[group], "\n".join(rendered[group])


def test_the_batch_is_large(rendered) -> None:
    assert int(rendered["count"][0]) > 500


def test_no_form_uses_what_only_latex_has() -> None:
    network = mc.nn.Network([784, 30, 10]).derivation()
    for shown in (network._repr_latex_(), network.latex(), network.markdown()):
        for command in (r"\parbox", r"\raggedright", r"\small", "multline", r"\intertext"):
            assert command not in shown
    assert r"\tag{BP1}" in network._repr_latex_() and r"\text{(BP1)}" in network.markdown()
    assert "dy/dx" not in network.latex() and r"\partial y/\partial x" in network.latex()
