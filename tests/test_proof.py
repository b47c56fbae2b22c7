"""check_proof: whole hand-derived proofs, link by link (issue 12).

The corpus (tests/proof_corpus.py) holds proofs from Parr & Howard, Nielsen
ch. 2, the Matrix Cookbook and the lecture, typed in LaTeX as a student would,
with the same steps in numpy-like text (checked on their own by mc.equivalent)
and planted single-step mistakes with the diagnosis each must get.
"""

from __future__ import annotations

import pytest
from proof_corpus import PROOFS, Proof

import matcalc as mc
from matcalc.document import write_document

PROOF_IDS = [p.name for p in PROOFS]
MISTAKES = [(p, m) for p in PROOFS for m in p.mistakes]
MISTAKE_IDS = [f"{p.name}-{i}" for i, (p, _) in enumerate(MISTAKES)]


def _function(p: Proof) -> tuple[mc.Expr | None, mc.Variable | None]:
    if not p.f:
        return None, None
    f = mc.parse(p.f, p.shapes)
    return f, mc.variables(f)[p.wrt]


def _checked(p: Proof) -> mc.ProofVerdict:
    f, wrt = _function(p)
    return mc.check_proof(p.latex, f, wrt, shapes=p.shapes)


def test_the_corpus_is_large_enough() -> None:
    sources = {p.source.split()[0] for p in PROOFS}
    assert len(PROOFS) >= 25 and len(MISTAKES) >= 60
    assert {"Parr", "Nielsen", "Matrix", "lecture"} <= sources


@pytest.mark.parametrize("p", PROOFS, ids=PROOF_IDS)
def test_a_correct_proof_is_accepted_and_read_as_meant(p: Proof) -> None:
    verdict = _checked(p)
    assert verdict.ok, verdict.message
    assert bool(verdict) and verdict.first_error is None
    assert len(verdict.steps) == len(p.numpy)
    assert all(link.ok for link in verdict.links)
    # every step means what its numpy-like twin says (read independently)
    f, wrt = _function(p)
    for step, twin in zip(verdict.steps, p.numpy, strict=True):
        if twin == "GRAD":
            assert step.derivative and f is not None and wrt is not None
            assert mc.check(step.meaning, f, wrt), step.derivative
        else:
            assert mc.equivalent(step.meaning, mc.parse(twin, p.shapes)), (step.source, twin)


@pytest.mark.parametrize("p", [p for p in PROOFS if p.where], ids=lambda p: p.name)
def test_a_proof_with_its_intermediates_given_in_where(p: Proof) -> None:
    """The same proof with where= (a definition line that restates one is checked
    against it and is not a step)."""
    f, wrt = _function(p)
    verdict = mc.check_proof(p.latex, f, wrt, where=p.where, shapes=p.shapes)
    assert verdict.ok, verdict.message
    assert len(verdict.steps) == len(p.numpy)


@pytest.mark.parametrize("p", [p for p in PROOFS if p.f], ids=lambda p: p.name)
def test_the_same_proof_typed_as_numpy_text(p: Proof) -> None:
    f, wrt = _function(p)
    steps = [s for s in p.numpy if s != "GRAD"]
    text = " = ".join(steps)  # one line, a = b = c
    verdict = mc.check_proof(text, f, wrt, shapes=p.shapes)
    assert verdict.ok, verdict.message
    # f and wrt given: the first and the last step are judged against the derivative
    assert [link.source for link in verdict.links].count(None) == (2 if len(steps) > 1 else 1)


@pytest.mark.parametrize(("p", "mistake"), MISTAKES, ids=MISTAKE_IDS)
def test_a_planted_mistake_is_found_at_its_step(p: Proof, mistake) -> None:
    f, wrt = _function(p)
    correct = _checked(p)
    steps = [step.source for step in correct.steps]
    steps[mistake.step] = mistake.latex
    verdict = mc.check_proof(steps, f, wrt, where=correct.definitions, shapes=p.shapes)
    assert not verdict.ok and not bool(verdict)
    assert verdict.first_error == mistake.step, verdict.message
    link = next(link for link in verdict.links if not link.ok)
    assert link.target == mistake.step
    assert link.diagnosis == mistake.diagnosis, link.message
    assert verdict.message.startswith(f"step {mistake.step} → {mistake.step + 1} is wrong")


def test_a_mistake_in_numpy_text_is_found_too() -> None:
    p = next(p for p in PROOFS if p.name == "nielsen-bp1")
    f, wrt = _function(p)
    for mistake in p.mistakes:
        steps = [s for s in p.numpy if s != "GRAD"]
        steps[mistake.step - 1] = mistake.numpy
        verdict = mc.check_proof(steps, f, wrt, shapes=p.shapes)
        assert verdict.first_error == mistake.step - 1
        link = next(link for link in verdict.links if not link.ok)
        assert link.diagnosis == mistake.diagnosis


# -- the lecture's BP1 in full, and what a student sees ----------
N, M = mc.dims("n m")
W, X, B, Y = mc.matrix("W", M, N), mc.vector("x", N), mc.vector("b", M), mc.vector("y", M)
COST = mc.sum((mc.sigmoid(W @ X + B) - Y) ** 2) / 2
BP1 = r"""
\begin{align*}
\mathbf{z} &= W\mathbf{x} + \mathbf{b} \\
\mathbf{a} &= \sigma(\mathbf{z}) \\
\frac{\partial C}{\partial \mathbf{b}} &= (\mathbf{a} - \mathbf{y}) \odot \sigma'(\mathbf{z})
  \quad \text{(chain rule)} \\
 &= (\mathbf{a} - \mathbf{y}) \odot \mathbf{a} \odot (\mathbf{1} - \mathbf{a}) \nonumber
\end{align*}"""


def test_links_name_the_identity_that_justifies_them() -> None:
    verdict = mc.check_proof(BP1, COST, B, name="C")
    assert verdict.ok
    names = [link.identity for link in verdict.links if link.source is not None]
    assert names[0] == "the chain rule of Jacobians"
    assert names[1].startswith("σ′ = σ(1 − σ)") and "definition of a" in names[1]
    assert "✓" in str(verdict) and "[the chain rule of Jacobians]" in str(verdict)


@pytest.mark.parametrize(
    ("chain", "identity"),
    [
        (r"(A B)^\top = B^\top A^\top", "the transpose of a product"),
        (r"(A B C)^\top = (B C)^\top A^\top = C^\top B^\top A^\top", "the transpose of a product"),
        (r"\operatorname{tr}(A B) = \operatorname{tr}(B A)", "the cyclic property"),
        (r"A (B + C) = A B + A C", "distributivity"),
        (r"\|\mathbf{u}\|^2 = \mathbf{u}^\top \mathbf{u}", "‖x‖² = xᵀ x"),
        (r"\operatorname{diag}(\mathbf{u}) \mathbf{v} = \mathbf{u} \odot \mathbf{v}", "diag(u) v"),
        (r"\tanh'(\mathbf{u}) = 1 - \tanh(\mathbf{u})^2", "tanh′ = 1 − tanh²"),
        (r"((A^\top)^\top)^\top = A^\top", "(Aᵀ)ᵀ = A"),
        (r"\mathbf{u}^\top \mathbf{v} = \mathbf{v}^\top \mathbf{u}", ""),
    ],
)
def test_identity_names(chain: str, identity: str) -> None:
    shapes = {"A": ("n", "n"), "B": ("n", "n"), "C": ("n", "n"), "u": ("n",), "v": ("n",)}
    verdict = mc.check_proof(chain, shapes=shapes)
    assert verdict.ok, verdict.message
    found = [link.identity for link in verdict.links]
    assert all(name.startswith(identity) for name in found) if identity else True, found


def test_a_wrong_step_later_undone_is_still_wrong() -> None:
    """Two mistakes that cancel: the final answer is right, the proof is not."""
    proof = r"""\frac{\partial C}{\partial W} = \boldsymbol\delta \mathbf{x}^\top
        = \mathbf{x} \boldsymbol\delta^\top = \boldsymbol\delta \mathbf{x}^\top"""
    delta = (mc.sigmoid(W @ X + B) - Y) * mc.sigmoid(W @ X + B) * (1 - mc.sigmoid(W @ X + B))
    verdict = mc.check_proof(proof, COST, W, where={"δ": delta}, name="C")
    assert not verdict.ok and verdict.first_error == 2
    assert verdict.links[1].diagnosis == "transpose"
    assert verdict.links[-1].source is None and verdict.links[-1].ok  # the last step is right


def test_definitions_by_colon_equals_and_coloneqq_and_a_labelled_chain() -> None:
    proof = r"""
    \mathbf{z} := W \mathbf{x} + \mathbf{b} \\
    \mathbf{a} \coloneqq \sigma(\mathbf{z}) \\
    \boldsymbol{\delta} = \frac{\partial C}{\partial \mathbf{z}}
        = (\mathbf{a} - \mathbf{y}) \odot \sigma'(\mathbf{z}) \\
    \frac{\partial C}{\partial W} = \boldsymbol{\delta} \mathbf{x}^\top"""
    verdict = mc.check_proof(proof, COST, W, name="C")
    assert verdict.ok, verdict.message
    assert set(verdict.definitions) == {"z", "a", "δ"}
    assert [step.derivative for step in verdict.steps if step.derivative] == ["∂C/∂z", "∂C/∂W"]


def test_derivative_notations() -> None:
    for first in (
        r"\frac{\partial C}{\partial \mathbf{b}}",
        r"\partial C / \partial \mathbf{b}",
        r"\nabla_{\mathbf{b}} C",
        r"\nabla_\mathbf{b} C",
        r"\frac{\partial}{\partial \mathbf{b}} C",
    ):
        z = r"W\mathbf{x} + \mathbf{b}"
        proof = rf"{first} = (\sigma({z}) - \mathbf{{y}}) \odot \sigma'({z})"
        verdict = mc.check_proof(proof, COST, B, name="C")
        assert verdict.ok and verdict.steps[0].derivative == "∂C/∂b", first
    text = "dC/db = (sigmoid(W@x + b) - y)*sigmoid(W@x + b)*(1 - sigmoid(W@x + b))"
    assert mc.check_proof(text, COST, B)
    matlab = "z := W*x + b\ndC/db = (sigmoid(z) - y).*sigmoid(z).*(1 - sigmoid(z))"
    assert mc.check_proof(matlab, COST, B)


def test_a_proof_defines_its_own_function() -> None:
    proof = r"""
    f = \mathbf{x}^\top A \mathbf{x} \\
    \nabla_{\mathbf{x}} f = (A + A^\top) \mathbf{x} = A \mathbf{x} + A^\top \mathbf{x}"""
    assert mc.check_proof(proof, shapes={"A": ("n", "n"), "x": ("n",)})


def test_assumptions_from_the_variables_properties() -> None:
    proof = r"\nabla_{\mathbf{x}} f = 2 S \mathbf{x}"
    plain = mc.check_proof(proof, "x.T@S@x", "x", shapes={"S": ("n", "n"), "x": ("n",)})
    assert not plain.ok and plain.links[0].diagnosis == "assumption"
    assert "S is symmetric" in plain.message and "symmetric=True" in plain.message
    symmetric = mc.check_proof(
        proof, "x.T@S@x", "x", shapes={"S": ("n", "n", "symmetric"), "x": ("n",)}
    )
    assert symmetric.ok, symmetric.message
    z, y = mc.vector("z", M), mc.vector("y", M, probability=True)
    loss = -mc.sum(y * mc.log(mc.softmax(z)))
    assert mc.check_proof([mc.softmax(z) - y], loss, z)
    y_plain = mc.vector("y", M)
    loss_plain = -mc.sum(y_plain * mc.log(mc.softmax(z)))
    verdict = mc.check_proof([mc.softmax(z) - y_plain], loss_plain, z)
    assert verdict.links[0].diagnosis == "assumption" and "probability" in verdict.message


@pytest.mark.parametrize(
    ("proof", "words"),
    [
        ("", "empty"),
        (r"\mathbf{z} = W \mathbf{x}", "no chain of steps"),
        (r"\frac{\partial Q}{\partial W} = W", "Q is not defined"),
        (r"\frac{\partial C}{\partial V} = W", "V is not a variable of the proof"),
        (r"\mathbf{x} := W \mathbf{x}", "cannot be defined"),
        (r"&= W", "starts with '='"),
        (r"\mathbf{u} = \mathbf{u} + \mathbf{u} \\ \mathbf{u} = \mathbf{u}", "itself"),
        (r"a = W \mathbf{x} \mathbf{x}", "does not fit together"),
        (r"W = W + \nabla_W C", "only as the first step"),
    ],
)
def test_bad_proofs_say_what_is_wrong(proof: str, words: str) -> None:
    with pytest.raises(mc.ParseError, match=words):
        mc.check_proof(proof, shapes={"W": ("m", "n"), "x": ("n",)})


def test_bad_arguments() -> None:
    with pytest.raises(mc.ParseError, match="steps must be"):
        mc.check_proof([])
    with pytest.raises(mc.ParseError, match="a step must be"):
        mc.check_proof([W, 3.5])
    with pytest.raises(mc.ParseError, match="wrt must be a variable"):
        mc.check_proof([W], COST, "Q")
    with pytest.raises(mc.ParseError, match="where"):
        mc.check_proof([W], where={"z": 3})
    with pytest.raises(mc.ParseError, match="at most"):
        mc.check_proof("x = " * 30_000 + "x")


def test_the_display_is_typeset_without_user_text(tmp_path) -> None:
    """Remarks and the source as typed never reach the TeX: only printed expressions
    and escaped words.  The section compiles with pdflatex."""
    hostile = BP1.replace(r"\text{(chain rule)}", r"\text{\input{/etc/passwd} $\def\a{\a}\a$}")
    verdict = mc.check_proof(hostile, COST, B, name="C")
    assert verdict.ok
    shown = verdict._repr_latex_() + verdict.section()
    assert "passwd" not in shown and r"\def" not in shown
    assert shown.count(r"\checkmark") == 2 * 2
    wrong = mc.check_proof([s.source for s in verdict.steps[:-1]] + [r"\mathbf{a}"], COST, B)
    assert r"\times" in wrong._repr_latex_() and "✗" in str(wrong)
    pdf = write_document([verdict, wrong], tmp_path / "proof.tex", "Proofs")
    assert pdf.stat().st_size > 1000


# -- what a hostile review found: each a wrong proof that must not pass ----------
G = r"(\sigma(W\mathbf{x}+\mathbf{b}) - \mathbf{y}) \odot \sigma'(W\mathbf{x}+\mathbf{b})"


@pytest.mark.parametrize(
    "proof",
    [
        r"\nabla_{\mathbf{x}} C = W^\top \left(" + G + r"\right)",  # another variable
        "dC/dx = W.T @ ((sigmoid(W@x + b) - y)*sigmoid(W@x + b)*(1 - sigmoid(W@x + b)))",
        r"\mathbf{z} = W\mathbf{x}+\mathbf{b} \\ \frac{\partial C}{\partial W} = "
        r"((\sigma(\mathbf{z})-\mathbf{y})\odot\sigma'(\mathbf{z}))\mathbf{x}^\top",
        r"\boldsymbol\delta = \frac{\partial C}{\partial \mathbf{z}} = "
        r"(\sigma(\mathbf{z}) - \mathbf{y}) \odot \sigma'(\mathbf{z})",
    ],
)
def test_a_proof_of_another_derivative_is_not_accepted(proof: str) -> None:
    verdict = mc.check_proof(proof, COST, B, where={"z": W @ X + B}, name="C")
    assert not verdict.ok
    assert any(link.diagnosis == "wrong derivative" for link in verdict.links), verdict.message


@pytest.mark.parametrize("name", ["f", "C"])
def test_the_proof_cannot_swap_the_function(name: str) -> None:
    swapped = r"""\mathbf{z}=W\mathbf{x}+\mathbf{b} \\ \mathbf{a}=\sigma(\mathbf{z}) \\
        C = \sum(\mathbf{a}-\mathbf{y}) \\
        \frac{\partial C}{\partial \mathbf{b}} = \sigma'(\mathbf{z})"""
    assert not mc.check_proof(swapped, COST, B, name=name)
    by_where = r"\frac{\partial C}{\partial \mathbf{b}} = \sigma'(W\mathbf{x}+\mathbf{b})"
    assert not mc.check_proof(by_where, COST, B, where={"C": mc.sum(mc.sigmoid(W @ X + B) - Y)})


@pytest.mark.parametrize(
    "tail",
    [
        r" \quad\text{and}\quad \frac{\partial C}{\partial W} = \mathbf{b}\mathbf{x}^\top",
        r" \qquad (\text{chain}) + \mathbf{b}",
        r" && (\mathbf{y})",
    ],
)
def test_math_after_a_remark_is_still_read(tail: str) -> None:
    proof = r"\frac{\partial C}{\partial \mathbf{b}} = " + G + tail
    try:
        verdict = mc.check_proof(proof, COST, B, name="C")
    except mc.ParseError:
        return  # refused: never silently dropped
    assert not verdict.ok


def test_user_text_never_reaches_the_display_raw() -> None:
    with pytest.raises(mc.ParseError, match="name must be an identifier"):
        mc.check_proof([mc.sigmoid(W @ X + B) - Y], COST, B, name="f^^5cinput{/etc/passwd}")
    from matcalc.notation import latex_text

    assert (
        latex_text("a}{b^^5c~") == r"a\}\{b\textasciicircum{}\textasciicircum{}5c\textasciitilde{}"
    )


def test_undefined_and_contradicted_intermediates_are_named() -> None:
    undefined = (
        r"\frac{\partial C}{\partial \mathbf{b}} = (\mathbf{a} - \mathbf{y}) \odot \mathbf{a}"
    )
    verdict = mc.check_proof(undefined, COST, B, name="C")
    assert verdict.links[0].diagnosis == "unknown variable" and "uses a" in verdict.message
    contradicts = r"\mathbf{z} = W \mathbf{x} \\ \frac{\partial C}{\partial \mathbf{b}} = " + G
    verdict = mc.check_proof(contradicts, COST, B, where={"z": W @ X + B}, name="C")
    assert not verdict.ok and verdict.first_error == 1  # the line z = W x, step 1 → 2
    assert all(link.source is not None for link in verdict.links if link.target <= 1)


def test_an_extra_term_is_blamed_on_the_step_that_has_it() -> None:
    s = "sigmoid(W@x + b)"
    steps = [f"({s} - y)*{s}", f"({s} - y)*{s} + y"]
    verdict = mc.check_proof(steps)
    link = verdict.links[0]
    assert link.diagnosis == "extra term" and "step 2 has y, which step 1 has not" in link.message


def test_bad_keyword_values_are_refused() -> None:
    for bad in ({"name": 5}, {"name": None}, {"seed": "x"}, {"seed": -1}):
        with pytest.raises(mc.ParseError):
            mc.check_proof([B], COST, B, **bad)


def test_the_numerator_layout_needs_the_chain_rule_written() -> None:
    """∂C/∂b as a row is accepted where the chain is worked in numerator layout
    (∂C/∂a ∂a/∂z …) and is the transpose of the gradient otherwise."""
    rows = r"""\mathbf{z} = W\mathbf{x} + \mathbf{b} \\ \mathbf{a} = \sigma(\mathbf{z}) \\
    \frac{\partial C}{\partial \mathbf{b}} &= \frac{\partial C}{\partial \mathbf{a}}
        \frac{\partial \mathbf{a}}{\partial \mathbf{z}}
        \frac{\partial \mathbf{z}}{\partial \mathbf{b}} \\
    &= (\mathbf{a} - \mathbf{y})^\top \operatorname{diag}(\sigma'(\mathbf{z})) I"""
    assert mc.check_proof(rows, COST, B, name="C")
    bare = r"\frac{\partial C}{\partial \mathbf{b}} = \left(" + G + r"\right)^\top"
    verdict = mc.check_proof(bare, COST, B, name="C")
    assert verdict.links[0].diagnosis == "transpose"
    with pytest.raises(mc.DerivativeError, match="3-index tensor"):
        mc.check_proof(
            r"\frac{\partial C}{\partial W} = \frac{\partial C}{\partial \mathbf{z}} "
            r"\frac{\partial \mathbf{z}}{\partial W}",
            COST, W, where={"z": W @ X + B}, name="C",
        )  # fmt: skip


def test_long_and_deep_proofs_are_answered_quickly() -> None:
    import time

    chain = "".join(
        rf"\mathbf{{z}}_{{{i + 1}}} &= \sigma(\mathbf{{z}}_{{{i}}}) \odot \mathbf{{z}}_{{{i}}} \\ "
        for i in range(19)
    ).replace(r"\mathbf{z}_{0}", r"\mathbf{b}")
    start = time.perf_counter()
    verdict = mc.check_proof(
        chain + r"\frac{\partial C}{\partial \mathbf{b}} = \mathbf{z}_{19}", COST, B
    )
    assert not verdict.ok and time.perf_counter() - start < 30  # a hang guard, not a speed goal
    product = r"\frac{\partial C}{\partial \mathbf{b}} = " + " ".join(["c"] * 1000) + r" \mathbf{b}"
    verdict = mc.check_proof(product, COST, B, shapes={"c": ()})
    assert not verdict.ok
