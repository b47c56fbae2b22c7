"""Hand-derived proofs as students write them, in LaTeX, each with the same steps in
numpy-like text, and planted single-step mistakes. Used by tests/test_proof.py."""

# ruff: noqa: E501
# (a proof is one LaTeX string, and the numpy steps are expanded in full: long lines)
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mistake:
    step: int  # 0-based index of the step that is replaced (never 0)
    latex: str  # the wrong step, LaTeX (the right-hand side only)
    numpy: str  # the same wrong step, numpy-like text
    diagnosis: str  # the Verdict.diagnosis code matcalc gives


@dataclass(frozen=True)
class Proof:
    name: str  # short id, e.g. "nielsen-bp1"
    source: str  # where the result is from
    shapes: dict[str, tuple]  # parse declarations
    latex: str  # the whole proof as a student types it
    numpy: tuple[str, ...]  # one numpy-like text per step, in order; step 0 may be "GRAD"
    f: str = ""  # numpy-like text of the function differentiated (first step "GRAD")
    wrt: str = ""  # the variable of that derivative
    where: dict[str, str] = field(
        default_factory=dict
    )  # intermediates: name -> numpy-like text over the variables
    mistakes: tuple[Mistake, ...] = ()


PROOFS: tuple[Proof, ...] = (
    Proof(
        name="ph-neuron-w",
        source="Parr & Howard §5",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"""z = \mathbf{w}^\top \mathbf{x} + b \\
\frac{\partial \max(0, z)}{\partial \mathbf{w}} &= \operatorname{step}(z)\, \mathbf{x} \quad \text{(chain rule through z)} \\
&= \mathbf{x} \operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)""",
        numpy=(
            "GRAD",
            "step(w.T@x + b)*x",
            "x*step(w.T@x + b)",
        ),
        f="relu(w.T@x + b)",
        wrt="w",
        where={
            "z": "w.T@x + b",
        },
        mistakes=(
            Mistake(
                1, r"\max(0, z)\, \mathbf{x}", "relu(w.T@x + b)*x", "function for its derivative"
            ),
            Mistake(
                2,
                r"\mathbf{w} \operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)",
                "w*step(w.T@x + b)",
                "counterexample",
            ),
            Mistake(
                2,
                r"\mathbf{x}^\top \operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)",
                "x.T*step(w.T@x + b)",
                "transpose",
            ),
        ),
    ),
    Proof(
        name="ph-neuron-b",
        source="Parr & Howard §5",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"\frac{\partial}{\partial b} \max(0, \mathbf{w}^\top \mathbf{x} + b) = \operatorname{step}(\mathbf{w}^\top \mathbf{x} + b) \cdot 1 = \operatorname{step}(\mathbf{x}^\top \mathbf{w} + b)",
        numpy=(
            "GRAD",
            "step(w.T@x + b)*1",
            "step(x.T@w + b)",
        ),
        f="relu(w.T@x + b)",
        wrt="b",
        mistakes=(
            Mistake(
                1,
                r"\max(0, \mathbf{w}^\top \mathbf{x} + b) \cdot 1",
                "relu(w.T@x + b)*1",
                "function for its derivative",
            ),
            Mistake(
                2,
                r"-\operatorname{step}(\mathbf{x}^\top \mathbf{w} + b)",
                "-step(x.T@w + b)",
                "sign",
            ),
        ),
    ),
    Proof(
        name="ph-neuron-x",
        source="Parr & Howard §5",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"""\nabla_{\mathbf{x}} \operatorname{relu}(\mathbf{w}^\top \mathbf{x} + b) &= \operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)\, \mathbf{w} \\
&= \operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)\, (\mathbf{w}^\top)^\top""",
        numpy=(
            "GRAD",
            "step(w.T@x + b)*w",
            "step(w.T@x + b)*(w.T).T",
        ),
        f="relu(w.T@x + b)",
        wrt="x",
        mistakes=(
            Mistake(
                1,
                r"\operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)\, \mathbf{x}",
                "step(w.T@x + b)*x",
                "counterexample",
            ),
            Mistake(
                2,
                r"\operatorname{step}(\mathbf{w}^\top \mathbf{x} + b)\, \mathbf{w}^\top",
                "step(w.T@x + b)*w.T",
                "transpose",
            ),
        ),
    ),
    Proof(
        name="ph-loss-w",
        source="Parr & Howard §6.1",
        shapes={"X": ("N", "n"), "w": ("n",), "b": (), "y": ("N",)},
        latex=r"""\begin{align*}
\mathbf{u} &= X \mathbf{w} + b \mathbf{1} \\
\mathbf{r} &= \mathbf{y} - \max(0, \mathbf{u}) \\
\frac{\partial C}{\partial \mathbf{w}} &= -2 X^\top \left( \mathbf{r} \odot \operatorname{step}(\mathbf{u}) \right) \\
&= 2 X^\top \left( \left(\max(0, \mathbf{u}) - \mathbf{y}\right) \odot \operatorname{step}(\mathbf{u}) \right) \nonumber
\end{align*}""",
        numpy=(
            "GRAD",
            "-2*X.T@((y - relu(X@w + b))*step(X@w + b))",
            "2*X.T@((relu(X@w + b) - y)*step(X@w + b))",
        ),
        f="sum((y - relu(X@w + b))**2)",
        wrt="w",
        where={
            "u": "X@w + b",
            "r": "y - relu(X@w + b)",
        },
        mistakes=(
            Mistake(
                1,
                r"2 X^\top \left( \mathbf{r} \odot \operatorname{step}(\mathbf{u}) \right)",
                "2*X.T@((y - relu(X@w + b))*step(X@w + b))",
                "sign",
            ),
            Mistake(
                1,
                r"-2 \left( \mathbf{r} \odot \operatorname{step}(\mathbf{u}) \right)^\top X",
                "-2*((y - relu(X@w + b))*step(X@w + b)).T@X",
                "transpose",
            ),
            Mistake(
                2,
                r"2 X^\top \left( \left(\max(0, \mathbf{u}) - \mathbf{y}\right) \odot \max(0, \mathbf{u}) \right)",
                "2*X.T@((relu(X@w + b) - y)*relu(X@w + b))",
                "function for its derivative",
            ),
            Mistake(
                2,
                r"X^\top \left( \left(\max(0, \mathbf{u}) - \mathbf{y}\right) \odot \operatorname{step}(\mathbf{u}) \right)",
                "X.T@((relu(X@w + b) - y)*step(X@w + b))",
                "factor",
            ),
        ),
    ),
    Proof(
        name="ph-loss-b",
        source="Parr & Howard §6.2",
        shapes={"X": ("N", "n"), "w": ("n",), "b": (), "y": ("N",)},
        latex=r"""\mathbf{u} := X \mathbf{w} + b \mathbf{1} \\
\frac{\partial C}{\partial b} &= -2 \sum\left( (\mathbf{y} - \max(0, \mathbf{u})) \odot \operatorname{step}(\mathbf{u}) \right) \\
&= 2\, \mathbf{1}^\top \left( (\max(0, \mathbf{u}) - \mathbf{y}) \odot \operatorname{step}(\mathbf{u}) \right)""",
        numpy=(
            "GRAD",
            "-2*sum((y - relu(X@w + b))*step(X@w + b))",
            "2*ones(N).T@((relu(X@w + b) - y)*step(X@w + b))",
        ),
        f="sum((y - relu(X@w + b))**2)",
        wrt="b",
        where={
            "u": "X@w + b",
        },
        mistakes=(
            Mistake(
                1,
                r"2 \sum\left( (\mathbf{y} - \max(0, \mathbf{u})) \odot \operatorname{step}(\mathbf{u}) \right)",
                "2*sum((y - relu(X@w + b))*step(X@w + b))",
                "sign",
            ),
            Mistake(
                2,
                r"2\, \mathbf{1}^\top \left( (\max(0, \mathbf{u}) - \mathbf{y}) \odot \max(0, \mathbf{u}) \right)",
                "2*ones(N).T@((relu(X@w + b) - y)*relu(X@w + b))",
                "function for its derivative",
            ),
            Mistake(
                2,
                r"2\, (\max(0, \mathbf{u}) - \mathbf{y}) \odot \operatorname{step}(\mathbf{u})",
                "2*(relu(X@w + b) - y)*step(X@w + b)",
                "hadamard for matrix product",
            ),
        ),
    ),
    Proof(
        name="ph-sum-x",
        source="Parr & Howard §4.4",
        shapes={"x": ("n",), "c": ()},
        latex=r"\frac{\partial}{\partial \mathbf{x}} \sum(c\, \mathbf{x}) = c\, \mathbf{1} = \mathbf{1} c",
        numpy=(
            "GRAD",
            "c*ones(n)",
            "ones(n)*c",
        ),
        f="sum(c*x)",
        wrt="x",
        mistakes=(
            Mistake(1, r"\mathbf{1}", "ones(n)", "counterexample"),
            Mistake(2, r"c\, \mathbf{x}", "c*x", "counterexample"),
            Mistake(1, r"c\, \mathbf{1}^\top", "c*ones(n).T", "transpose"),
        ),
    ),
    Proof(
        name="ph-sum-c",
        source="Parr & Howard §4.4",
        shapes={"x": ("n",), "c": ()},
        latex=r"\frac{\partial \sum(c\, \mathbf{x})}{\partial c} &= \sum(\mathbf{x}) \\ &= \mathbf{1}^\top \mathbf{x}",
        numpy=(
            "GRAD",
            "sum(x)",
            "ones(n).T@x",
        ),
        f="sum(c*x)",
        wrt="c",
        mistakes=(
            Mistake(1, r"\mathbf{x}", "x", "shape"),
            Mistake(2, r"-\mathbf{1}^\top \mathbf{x}", "-ones(n).T@x", "sign"),
        ),
    ),
    Proof(
        name="ph-sum-exp",
        source="Parr & Howard §4.4",
        shapes={"x": ("n",)},
        latex=r"\nabla_{\mathbf{x}} \sum(\exp(\mathbf{x})) = \exp(\mathbf{x}) = \operatorname{diag}(\exp(\mathbf{x}))\, \mathbf{1}",
        numpy=(
            "GRAD",
            "exp(x)",
            "diag(exp(x))@ones(n)",
        ),
        f="sum(exp(x))",
        wrt="x",
        mistakes=(
            Mistake(1, r"\exp(\mathbf{x})^\top", "exp(x).T", "transpose"),
            Mistake(2, r"\operatorname{diag}(\exp(\mathbf{x}))", "diag(exp(x))", "shape"),
        ),
    ),
    Proof(
        name="ph-vector-chain-sin",
        source="Parr & Howard §4.5.3",
        shapes={"W": ("m", "n"), "x": ("n",)},
        latex=r"""\mathbf{g} = W \mathbf{x} \\
\frac{\partial \sin(\mathbf{g})}{\partial \mathbf{x}} &= \operatorname{diag}(\cos(\mathbf{g}))\, W \quad \text{(vector chain rule)} \\
&= \left(\cos(\mathbf{g}) \mathbf{1}^\top\right) \odot W""",
        numpy=(
            "GRAD",
            "diag(cos(W@x))@W",
            "outer(cos(W@x), ones(n))*W",
        ),
        f="sin(W@x)",
        wrt="x",
        where={
            "g": "W@x",
        },
        mistakes=(
            Mistake(
                1,
                r"\operatorname{diag}(\sin(\mathbf{g}))\, W",
                "diag(sin(W@x))@W",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"W^\top \operatorname{diag}(\cos(\mathbf{g}))",
                "W.T@diag(cos(W@x))",
                "transpose",
            ),
            Mistake(
                2,
                r"\left(-\sin(\mathbf{g}) \mathbf{1}^\top\right) \odot W",
                "outer(-sin(W@x), ones(n))*W",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="ph-vector-chain-tanh",
        source="Parr & Howard §4.5.3",
        shapes={"W": ("m", "n"), "x": ("n",), "b": ("m",)},
        latex=r"""\frac{\partial \tanh(W\mathbf{x} + \mathbf{b})}{\partial \mathbf{x}} &= \operatorname{diag}\left(1 - \tanh(W\mathbf{x} + \mathbf{b}) \odot \tanh(W\mathbf{x} + \mathbf{b})\right) W \\
&= W - \operatorname{diag}\left(\tanh(W\mathbf{x} + \mathbf{b}) \odot \tanh(W\mathbf{x} + \mathbf{b})\right) W""",
        numpy=(
            "GRAD",
            "diag(1 - tanh(W@x + b)**2)@W",
            "W - diag(tanh(W@x + b)**2)@W",
        ),
        f="tanh(W@x + b)",
        wrt="x",
        mistakes=(
            Mistake(
                1,
                r"\operatorname{diag}\left(\tanh(W\mathbf{x} + \mathbf{b})\right) W",
                "diag(tanh(W@x + b))@W",
                "function for its derivative",
            ),
            Mistake(
                2,
                r"W - \operatorname{diag}\left(\tanh(W\mathbf{x} + \mathbf{b})\right) W",
                "W - diag(tanh(W@x + b))@W",
                "counterexample",
            ),
            Mistake(
                2,
                r"W + \operatorname{diag}\left(\tanh(W\mathbf{x} + \mathbf{b}) \odot \tanh(W\mathbf{x} + \mathbf{b})\right) W",
                "W + diag(tanh(W@x + b)**2)@W",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp1",
        source="Nielsen ch. 2, BP1 (quadratic cost)",
        shapes={"z": ("m",), "y": ("m",)},
        latex=r"""\mathbf{a} = \sigma(\mathbf{z}) \\
C = \frac{1}{2} \|\mathbf{a} - \mathbf{y}\|^2 \\
\frac{\partial C}{\partial \mathbf{z}} &= (\mathbf{a} - \mathbf{y}) \odot \sigma'(\mathbf{z}) \\
&= (\mathbf{a} - \mathbf{y}) \odot \mathbf{a} \odot (\mathbf{1} - \mathbf{a})""",
        numpy=(
            "GRAD",
            "(sigmoid(z) - y)*(sigmoid(z)*(1 - sigmoid(z)))",
            "(sigmoid(z) - y)*sigmoid(z)*(1 - sigmoid(z))",
        ),
        f="sum((sigmoid(z) - y)**2)/2",
        wrt="z",
        where={
            "a": "sigmoid(z)",
            "C": "sum((sigmoid(z) - y)**2)/2",
        },
        mistakes=(
            Mistake(
                1,
                r"(\mathbf{a} - \mathbf{y}) \odot \sigma(\mathbf{z})",
                "(sigmoid(z) - y)*sigmoid(z)",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"(\mathbf{y} - \mathbf{a}) \odot \sigma'(\mathbf{z})",
                "(y - sigmoid(z))*(sigmoid(z)*(1 - sigmoid(z)))",
                "sign",
            ),
            Mistake(
                2,
                r"(\mathbf{a} - \mathbf{y}) \odot \mathbf{a} \odot (\mathbf{1} + \mathbf{a})",
                "(sigmoid(z) - y)*sigmoid(z)*(1 + sigmoid(z))",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp2",
        source="Nielsen ch. 2, BP2 (quadratic cost)",
        shapes={"z1": ("k",), "W2": ("m", "k"), "b2": ("m",), "y": ("m",)},
        latex=r"""\mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\delta_2 := (\sigma(\mathbf{z}_2) - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
\frac{\partial C}{\partial \mathbf{z}_1} &= \left(W_2^\top \delta_2\right) \odot \sigma'(\mathbf{z}_1) \quad \text{(BP2)} \\
&= \left(W_2^\top \delta_2\right) \odot \mathbf{a}_1 \odot (\mathbf{1} - \mathbf{a}_1) \\
&= \operatorname{diag}\left(\sigma'(\mathbf{z}_1)\right) W_2^\top \delta_2""",
        numpy=(
            "GRAD",
            "(W2.T@((sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2))))*(sigmoid(z1)*(1 - sigmoid(z1)))",
            "(W2.T@((sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2))))*sigmoid(z1)*(1 - sigmoid(z1))",
            "diag(sigmoid(z1)*(1 - sigmoid(z1)))@W2.T@((sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2)))",
        ),
        f="sum((sigmoid(W2@sigmoid(z1) + b2) - y)**2)/2",
        wrt="z1",
        where={
            "a1": "sigmoid(z1)",
            "z2": "W2@sigmoid(z1) + b2",
            "δ2": "(sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2))",
        },
        mistakes=(
            Mistake(
                1,
                r"\left(\delta_2^\top W_2\right) \odot \sigma'(\mathbf{z}_1)^\top",
                "(((sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2))).T@W2)*(sigmoid(z1)*(1 - sigmoid(z1))).T",
                "transpose",
            ),
            Mistake(
                1,
                r"\left(W_2^\top \delta_2\right) \odot \sigma(\mathbf{z}_1)",
                "(W2.T@((sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2))))*sigmoid(z1)",
                "function for its derivative",
            ),
            Mistake(
                2,
                r"\left(W_2^\top \delta_2\right) \odot \mathbf{a}_1",
                "(W2.T@((sigmoid(W2@sigmoid(z1) + b2) - y)*sigmoid(W2@sigmoid(z1) + b2)*(1 - sigmoid(W2@sigmoid(z1) + b2))))*sigmoid(z1)",
                "function for its derivative",
            ),
            Mistake(
                3,
                r"\operatorname{diag}\left(\sigma'(\mathbf{z}_1)\right) W_2^\top \left(\sigma(\mathbf{z}_2) - \mathbf{y}\right)",
                "diag(sigmoid(z1)*(1 - sigmoid(z1)))@W2.T@(sigmoid(W2@sigmoid(z1) + b2) - y)",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp3",
        source="Nielsen ch. 2, BP3 (quadratic cost)",
        shapes={"a1": ("k",), "W2": ("m", "k"), "b2": ("m",), "y": ("m",)},
        latex=r"""\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\frac{\partial C}{\partial \mathbf{b}_2} &= \left(\sigma(\mathbf{z}_2) - \mathbf{y}\right) \odot \sigma'(\mathbf{z}_2) \cdot 1 \\
&= \left(\sigma(\mathbf{z}_2) - \mathbf{y}\right) \odot \sigma(\mathbf{z}_2) \odot \left(\mathbf{1} - \sigma(\mathbf{z}_2)\right)""",
        numpy=(
            "GRAD",
            "((sigmoid(W2@a1 + b2) - y)*(sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))))*1",
            "(sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))",
        ),
        f="sum((sigmoid(W2@a1 + b2) - y)**2)/2",
        wrt="b2",
        where={
            "z2": "W2@a1 + b2",
        },
        mistakes=(
            Mistake(
                1,
                r"\left(\sigma(\mathbf{z}_2) - \mathbf{y}\right) \odot \sigma(\mathbf{z}_2) \cdot 1",
                "((sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2))*1",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"\left(\left(\sigma(\mathbf{z}_2) - \mathbf{y}\right) \odot \sigma'(\mathbf{z}_2)\right) \mathbf{a}_1^\top",
                "((sigmoid(W2@a1 + b2) - y)*(sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))))@a1.T",
                "shape",
            ),
            Mistake(
                2,
                r"\frac{1}{2} \left(\left(\sigma(\mathbf{z}_2) - \mathbf{y}\right) \odot \sigma(\mathbf{z}_2) \odot \left(\mathbf{1} - \sigma(\mathbf{z}_2)\right)\right)",
                "(sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))/2",
                "factor",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp4",
        source="Nielsen ch. 2, BP4 (quadratic cost)",
        shapes={"a1": ("k",), "W2": ("m", "k"), "b2": ("m",), "y": ("m",)},
        latex=r"""\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\boldsymbol{\delta}_2 = (\sigma(\mathbf{z}_2) - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
\frac{\partial C}{\partial W_2} &= \boldsymbol{\delta}_2\, \mathbf{a}_1^\top \\
&= \left((\sigma(\mathbf{z}_2) - \mathbf{y}) \odot \sigma'(\mathbf{z}_2)\right) \mathbf{a}_1^\top \\
&= \left(\mathbf{a}_1 \boldsymbol{\delta}_2^\top\right)^\top""",
        numpy=(
            "GRAD",
            "((sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2)))@a1.T",
            "((sigmoid(W2@a1 + b2) - y)*(sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))))@a1.T",
            "(a1@((sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))).T).T",
        ),
        f="sum((sigmoid(W2@a1 + b2) - y)**2)/2",
        wrt="W2",
        where={
            "z2": "W2@a1 + b2",
            "δ2": "(sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))",
        },
        mistakes=(
            Mistake(
                1,
                r"\mathbf{a}_1 \boldsymbol{\delta}_2^\top",
                "a1@((sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))).T",
                "transpose",
            ),
            Mistake(
                2,
                r"\left((\sigma(\mathbf{z}_2) - \mathbf{y}) \odot \sigma(\mathbf{z}_2)\right) \mathbf{a}_1^\top",
                "((sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2))@a1.T",
                "function for its derivative",
            ),
            Mistake(
                3,
                r"\mathbf{a}_1 \boldsymbol{\delta}_2^\top",
                "a1@((sigmoid(W2@a1 + b2) - y)*sigmoid(W2@a1 + b2)*(1 - sigmoid(W2@a1 + b2))).T",
                "transpose",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp1-softmax",
        source="Nielsen ch. 2, BP1 (softmax output, cross-entropy)",
        shapes={"z": ("m",), "y": ("m", "probability")},
        latex=r"""\begin{aligned}
\nabla_{\mathbf{z}} C &= \operatorname{softmax}(\mathbf{z}) \left(\mathbf{1}^\top \mathbf{y}\right) - \mathbf{y} \\
&= \operatorname{softmax}(\mathbf{z}) - \mathbf{y} \quad \text{(the entries of y sum to 1)}
\end{aligned}""",
        numpy=(
            "GRAD",
            "softmax(z)*(ones(m).T@y) - y",
            "softmax(z) - y",
        ),
        f="-sum(y*log(softmax(z)))",
        wrt="z",
        where={
            "C": "-sum(y*log(softmax(z)))",
        },
        mistakes=(
            Mistake(
                1,
                r"\mathbf{y} - \operatorname{softmax}(\mathbf{z}) \left(\mathbf{1}^\top \mathbf{y}\right)",
                "y - softmax(z)*(ones(m).T@y)",
                "sign",
            ),
            Mistake(2, r"\operatorname{softmax}(\mathbf{z})", "softmax(z)", "counterexample"),
            Mistake(
                2,
                r"\operatorname{softmax}(\mathbf{z}) + \mathbf{y}",
                "softmax(z) + y",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp2-softmax",
        source="Nielsen ch. 2, BP2 (softmax output, cross-entropy)",
        shapes={"z1": ("k",), "W2": ("m", "k"), "b2": ("m",), "y": ("m", "probability")},
        latex=r"""\mathbf{z}_2 = W_2 \sigma(\mathbf{z}_1) + \mathbf{b}_2 \\
\delta_2 = \operatorname{softmax}(\mathbf{z}_2) - \mathbf{y} \\
\frac{\partial C}{\partial \mathbf{z}_1} &= (W_2^\top \delta_2) \odot \sigma'(\mathbf{z}_1) \\
&= \left(W_2^\top \operatorname{softmax}(\mathbf{z}_2) - W_2^\top \mathbf{y}\right) \odot \sigma(\mathbf{z}_1) \odot (\mathbf{1} - \sigma(\mathbf{z}_1))""",
        numpy=(
            "GRAD",
            "(W2.T@(softmax(W2@sigmoid(z1) + b2) - y))*(sigmoid(z1)*(1 - sigmoid(z1)))",
            "(W2.T@softmax(W2@sigmoid(z1) + b2) - W2.T@y)*sigmoid(z1)*(1 - sigmoid(z1))",
        ),
        f="-sum(y*log(softmax(W2@sigmoid(z1) + b2)))",
        wrt="z1",
        where={
            "z2": "W2@sigmoid(z1) + b2",
            "δ2": "softmax(W2@sigmoid(z1) + b2) - y",
        },
        mistakes=(
            Mistake(
                1,
                r"(W_2^\top \delta_2) \odot \sigma(\mathbf{z}_1)",
                "(W2.T@(softmax(W2@sigmoid(z1) + b2) - y))*sigmoid(z1)",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"(W_2^\top \delta_2) \, \sigma'(\mathbf{z}_1)^\top",
                "(W2.T@(softmax(W2@sigmoid(z1) + b2) - y))@(sigmoid(z1)*(1 - sigmoid(z1))).T",
                "matrix product for hadamard",
            ),
            Mistake(
                2,
                r"\left(W_2^\top \operatorname{softmax}(\mathbf{z}_2)\right) \odot \sigma(\mathbf{z}_1) \odot (\mathbf{1} - \sigma(\mathbf{z}_1))",
                "(W2.T@softmax(W2@sigmoid(z1) + b2))*sigmoid(z1)*(1 - sigmoid(z1))",
                "missing term",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp3-softmax",
        source="Nielsen ch. 2, BP3 (softmax output, cross-entropy)",
        shapes={"W": ("m", "n"), "a0": ("n",), "b": ("m",), "y": ("m", "probability")},
        latex=r"\partial C / \partial \mathbf{b} = \operatorname{softmax}(W \mathbf{a}_0 + \mathbf{b}) - \mathbf{y} = -\left(\mathbf{y} - \operatorname{softmax}(W \mathbf{a}_0 + \mathbf{b})\right)",
        numpy=(
            "GRAD",
            "softmax(W@a0 + b) - y",
            "-(y - softmax(W@a0 + b))",
        ),
        f="-sum(y*log(softmax(W@a0 + b)))",
        wrt="b",
        mistakes=(
            Mistake(
                1,
                r"\mathbf{y} - \operatorname{softmax}(W \mathbf{a}_0 + \mathbf{b})",
                "y - softmax(W@a0 + b)",
                "sign",
            ),
            Mistake(
                2,
                r"-\left(\mathbf{y} - \operatorname{softmax}(W \mathbf{a}_0 + \mathbf{b})\right) \mathbf{a}_0^\top",
                "-(y - softmax(W@a0 + b))@a0.T",
                "shape",
            ),
        ),
    ),
    Proof(
        name="nielsen-bp4-softmax",
        source="Nielsen ch. 2, BP4 (softmax output, cross-entropy)",
        shapes={"W": ("m", "n"), "a0": ("n",), "b": ("m",), "y": ("m", "probability")},
        latex=r"""\mathbf{z} \coloneqq W \mathbf{a}_0 + \mathbf{b} \\
\partial C / \partial W &= \left(\operatorname{softmax}(\mathbf{z}) - \mathbf{y}\right) \mathbf{a}_0^\top \\
&= \operatorname{softmax}(\mathbf{z})\, \mathbf{a}_0^\top - \mathbf{y}\, \mathbf{a}_0^\top""",
        numpy=(
            "GRAD",
            "(softmax(W@a0 + b) - y)@a0.T",
            "outer(softmax(W@a0 + b), a0) - outer(y, a0)",
        ),
        f="-sum(y*log(softmax(W@a0 + b)))",
        wrt="W",
        where={
            "z": "W@a0 + b",
        },
        mistakes=(
            Mistake(
                1,
                r"\mathbf{a}_0 \left(\operatorname{softmax}(\mathbf{z}) - \mathbf{y}\right)^\top",
                "a0@(softmax(W@a0 + b) - y).T",
                "transpose",
            ),
            Mistake(
                2,
                r"\operatorname{softmax}(\mathbf{z})\, \mathbf{a}_0^\top",
                "outer(softmax(W@a0 + b), a0)",
                "missing term",
            ),
            Mistake(
                2,
                r"\operatorname{softmax}(\mathbf{z})\, \mathbf{a}_0^\top + \mathbf{y}\, \mathbf{a}_0^\top",
                "outer(softmax(W@a0 + b), a0) + outer(y, a0)",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="nielsen-sigmoid-cross-entropy",
        source="Nielsen ch. 3, cross-entropy with sigmoid output",
        shapes={"z": ("m",), "y": ("m",)},
        latex=r"""\mathbf{a} = \sigma(\mathbf{z}) \\
\frac{\partial C}{\partial \mathbf{z}} &= -\left(\frac{\mathbf{y}}{\mathbf{a}} - \frac{\mathbf{1} - \mathbf{y}}{\mathbf{1} - \mathbf{a}}\right) \odot \sigma'(\mathbf{z}) \\
&= -\left(\mathbf{y} \odot (\mathbf{1} - \mathbf{a}) - (\mathbf{1} - \mathbf{y}) \odot \mathbf{a}\right) \\
&= \mathbf{a} - \mathbf{y}""",
        numpy=(
            "GRAD",
            "-(y/sigmoid(z) - (1 - y)/(1 - sigmoid(z)))*(sigmoid(z)*(1 - sigmoid(z)))",
            "-(y*(1 - sigmoid(z)) - (1 - y)*sigmoid(z))",
            "sigmoid(z) - y",
        ),
        f="-sum(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))",
        wrt="z",
        where={
            "a": "sigmoid(z)",
        },
        mistakes=(
            Mistake(
                1,
                r"\left(\frac{\mathbf{y}}{\mathbf{a}} - \frac{\mathbf{1} - \mathbf{y}}{\mathbf{1} - \mathbf{a}}\right) \odot \sigma'(\mathbf{z})",
                "(y/sigmoid(z) - (1 - y)/(1 - sigmoid(z)))*(sigmoid(z)*(1 - sigmoid(z)))",
                "sign",
            ),
            Mistake(
                2,
                r"-\left(\mathbf{y} \odot (\mathbf{1} - \mathbf{a}) + (\mathbf{1} - \mathbf{y}) \odot \mathbf{a}\right)",
                "-(y*(1 - sigmoid(z)) + (1 - y)*sigmoid(z))",
                "counterexample",
            ),
            Mistake(
                3,
                r"\sigma'(\mathbf{z}) - \mathbf{y}",
                "sigmoid(z)*(1 - sigmoid(z)) - y",
                "derivative for the function",
            ),
        ),
    ),
    Proof(
        name="cookbook-69",
        source="Matrix Cookbook (69)",
        shapes={"a": ("n",), "x": ("n",)},
        latex=r"\frac{\partial \mathbf{a}^\top \mathbf{x}}{\partial \mathbf{x}} = (\mathbf{a}^\top)^\top = \mathbf{a}",
        numpy=(
            "GRAD",
            "(a.T).T",
            "a",
        ),
        f="a.T@x",
        wrt="x",
        mistakes=(
            Mistake(1, r"\mathbf{a}^\top", "a.T", "transpose"),
            Mistake(2, r"\mathbf{x}", "x", "counterexample"),
        ),
    ),
    Proof(
        name="cookbook-81",
        source="Matrix Cookbook (81)",
        shapes={"A": ("n", "n"), "x": ("n",)},
        latex=r"""\frac{\partial\, \mathbf{x}^\top A \mathbf{x}}{\partial \mathbf{x}} &= A \mathbf{x} + A^\top \mathbf{x} \quad \text{(product rule)} \\
&= \left(A + A^\top\right) \mathbf{x}""",
        numpy=(
            "GRAD",
            "A@x + A.T@x",
            "(A + A.T)@x",
        ),
        f="x.T@A@x",
        wrt="x",
        mistakes=(
            Mistake(1, r"A \mathbf{x}", "A@x", "missing term"),
            Mistake(1, r"2 A \mathbf{x}", "2*A@x", "assumption"),
            Mistake(2, r"\mathbf{x}^\top \left(A + A^\top\right)", "x.T@(A + A.T)", "transpose"),
            Mistake(2, r"\left(A - A^\top\right) \mathbf{x}", "(A - A.T)@x", "counterexample"),
        ),
    ),
    Proof(
        name="cookbook-81-symmetric",
        source="Matrix Cookbook (81), symmetric A",
        shapes={"S": ("n", "n", "symmetric"), "x": ("n",)},
        latex=r"""\nabla_{\mathbf{x}} \left(\mathbf{x}^\top S \mathbf{x}\right) &= S \mathbf{x} + S^\top \mathbf{x} \\
&= 2 S \mathbf{x} \qquad \text{(S is symmetric)}""",
        numpy=(
            "GRAD",
            "S@x + S.T@x",
            "2*S@x",
        ),
        f="x.T@S@x",
        wrt="x",
        mistakes=(
            Mistake(1, r"S \mathbf{x}", "S@x", "factor"),
            Mistake(2, r"S \mathbf{x}", "S@x", "factor"),
            Mistake(2, r"2 \mathbf{x}^\top S", "2*x.T@S", "transpose"),
        ),
    ),
    Proof(
        name="cookbook-norm2",
        source="Matrix Cookbook (131), a = 0",
        shapes={"x": ("n",)},
        latex=r"\frac{\partial \|\mathbf{x}\|_2^2}{\partial \mathbf{x}} = \mathbf{x} + \mathbf{x} = 2\mathbf{x}",
        numpy=(
            "GRAD",
            "x + x",
            "2*x",
        ),
        f="norm(x)**2",
        wrt="x",
        mistakes=(
            Mistake(1, r"\mathbf{x}", "x", "factor"),
            Mistake(2, r"2\mathbf{x}^\top", "2*x.T", "transpose"),
            Mistake(2, r"\mathbf{x}", "x", "factor"),
        ),
    ),
    Proof(
        name="cookbook-least-squares",
        source="Matrix Cookbook §2.4.2 (least squares)",
        shapes={"A": ("m", "n"), "x": ("n",), "b": ("m",)},
        latex=r"""\mathbf{r} = A\mathbf{x} - \mathbf{b} \\
\frac{\partial \|A\mathbf{x} - \mathbf{b}\|^2}{\partial \mathbf{x}} &= 2 A^\top \mathbf{r} \\
&= 2 A^\top A \mathbf{x} - 2 A^\top \mathbf{b}""",
        numpy=(
            "GRAD",
            "2*A.T@(A@x - b)",
            "2*A.T@A@x - 2*A.T@b",
        ),
        f="norm(A@x - b)**2",
        wrt="x",
        where={
            "r": "A@x - b",
        },
        mistakes=(
            Mistake(1, r"A^\top \mathbf{r}", "A.T@(A@x - b)", "factor"),
            Mistake(1, r"2 \mathbf{r}^\top A", "2*(A@x - b).T@A", "transpose"),
            Mistake(2, r"2 A^\top A \mathbf{x}", "2*A.T@A@x", "missing term"),
            Mistake(
                2,
                r"2 A^\top A \mathbf{x} - A^\top \mathbf{b}",
                "2*A.T@A@x - A.T@b",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="cookbook-least-squares-expand",
        source="Matrix Cookbook §2.4.2 (least squares), expansion",
        shapes={"A": ("m", "n"), "x": ("n",), "b": ("m",)},
        latex=r"""\|A\mathbf{x} - \mathbf{b}\|^2 &= (A\mathbf{x} - \mathbf{b})^\top (A\mathbf{x} - \mathbf{b}) \\
&= \mathbf{x}^\top A^\top A \mathbf{x} - \mathbf{b}^\top A \mathbf{x} - \mathbf{x}^\top A^\top \mathbf{b} + \mathbf{b}^\top \mathbf{b} \\
&= \mathbf{x}^\top A^\top A \mathbf{x} - 2\, \mathbf{b}^\top A \mathbf{x} + \mathbf{b}^\top \mathbf{b}""",
        numpy=(
            "norm(A@x - b)**2",
            "(A@x - b).T@(A@x - b)",
            "x.T@A.T@A@x - b.T@A@x - x.T@A.T@b + b.T@b",
            "x.T@A.T@A@x - 2*b.T@A@x + b.T@b",
        ),
        mistakes=(
            Mistake(
                1,
                r"(A\mathbf{x} - \mathbf{b}) (A\mathbf{x} - \mathbf{b})^\top",
                "(A@x - b)@(A@x - b).T",
                "argument order",
            ),
            Mistake(
                2,
                r"\mathbf{x}^\top A^\top A \mathbf{x} - \mathbf{b}^\top A \mathbf{x} + \mathbf{b}^\top \mathbf{b}",
                "x.T@A.T@A@x - b.T@A@x + b.T@b",
                "missing term",
            ),
            Mistake(
                3,
                r"\mathbf{x}^\top A^\top A \mathbf{x} - 2\, \mathbf{b}^\top A \mathbf{x}",
                "x.T@A.T@A@x - 2*b.T@A@x",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="cookbook-102",
        source="Matrix Cookbook (102)",
        shapes={"A": ("k", "m"), "X": ("m", "n"), "B": ("n", "k")},
        latex=r"\frac{\partial}{\partial X} \operatorname{tr}(A X B) = A^\top B^\top = (B A)^\top",
        numpy=(
            "GRAD",
            "A.T@B.T",
            "(B@A).T",
        ),
        f="trace(A@X@B)",
        wrt="X",
        mistakes=(
            Mistake(1, r"(A^\top B^\top)^\top", "(A.T@B.T).T", "transpose"),
            Mistake(2, "B A", "B@A", "transpose"),
        ),
    ),
    Proof(
        name="cookbook-101",
        source="Matrix Cookbook (101)",
        shapes={"A": ("n", "m"), "X": ("m", "n")},
        latex=r"""\frac{\partial\, \mathrm{tr}(X A)}{\partial X} &= A^\top \\
&= A^\top I""",
        numpy=(
            "GRAD",
            "A.T",
            "A.T@eye(n)",
        ),
        f="trace(X@A)",
        wrt="X",
        mistakes=(
            Mistake(1, "A", "A", "transpose"),
            Mistake(2, r"-A^\top I", "-A.T@eye(n)", "sign"),
        ),
    ),
    Proof(
        name="cookbook-117",
        source="Matrix Cookbook (117)",
        shapes={"A": ("n", "n"), "X": ("n", "k")},
        latex=r"""\frac{\partial \operatorname{tr}(X^\top A X)}{\partial X} &= A X + A^\top X \\
&= (A + A^\top) X""",
        numpy=(
            "GRAD",
            "A@X + A.T@X",
            "(A + A.T)@X",
        ),
        f="trace(X.T@A@X)",
        wrt="X",
        mistakes=(
            Mistake(1, "A X", "A@X", "missing term"),
            Mistake(2, r"X^\top (A + A^\top)", "X.T@(A + A.T)", "transpose"),
            Mistake(2, "2 A X", "2*A@X", "assumption"),
        ),
    ),
    Proof(
        name="cookbook-57",
        source="Matrix Cookbook (57)",
        shapes={"X": ("n", "n")},
        latex=r"\frac{\partial \log \det X}{\partial X} = (X^{-1})^\top = (X^\top)^{-1}",
        numpy=(
            "GRAD",
            "inv(X).T",
            "inv(X.T)",
        ),
        f="logdet(X)",
        wrt="X",
        mistakes=(
            Mistake(1, "X^{-1}", "inv(X)", "transpose"),
            Mistake(2, r"X^\top", "X.T", "counterexample"),
        ),
    ),
    Proof(
        name="cookbook-49",
        source="Matrix Cookbook (49)",
        shapes={"X": ("n", "n")},
        latex=r"""\frac{\partial \det(X)}{\partial X} &= \det(X) \left(X^{-1}\right)^\top \\
&= \det(X^\top) \left(X^\top\right)^{-1}""",
        numpy=(
            "GRAD",
            "det(X)*inv(X).T",
            "det(X.T)*inv(X.T)",
        ),
        f="det(X)",
        wrt="X",
        mistakes=(
            Mistake(1, r"\det(X)\, X^{-1}", "det(X)*inv(X)", "transpose"),
            Mistake(1, r"\left(X^{-1}\right)^\top", "inv(X).T", "counterexample"),
            Mistake(2, r"-\det(X^\top) \left(X^\top\right)^{-1}", "-det(X.T)*inv(X.T)", "sign"),
        ),
    ),
    Proof(
        name="cookbook-63",
        source="Matrix Cookbook (63), B = I",
        shapes={"X": ("n", "n"), "A": ("n", "n")},
        latex=r"""\begin{align*}
\frac{\partial}{\partial X} \operatorname{tr}\left(X^{-1} A\right) &= -\left(X^{-1} A X^{-1}\right)^\top \\
&= -\left(X^{-1}\right)^\top A^\top \left(X^{-1}\right)^\top
\end{align*}""",
        numpy=(
            "GRAD",
            "-(inv(X)@A@inv(X)).T",
            "-inv(X).T@A.T@inv(X).T",
        ),
        f="trace(inv(X)@A)",
        wrt="X",
        mistakes=(
            Mistake(1, r"\left(X^{-1} A X^{-1}\right)^\top", "(inv(X)@A@inv(X)).T", "sign"),
            Mistake(1, "-X^{-1} A X^{-1}", "-inv(X)@A@inv(X)", "transpose"),
            Mistake(
                2,
                r"-\left(X^{-1}\right)^\top A \left(X^{-1}\right)^\top",
                "-inv(X).T@A@inv(X).T",
                "assumption",
            ),
        ),
    ),
    Proof(
        name="cookbook-70",
        source="Matrix Cookbook (70)",
        shapes={"a": ("m",), "X": ("m", "n"), "b": ("n",)},
        latex=r"\frac{\partial\, \mathbf{a}^\top X \mathbf{b}}{\partial X} &= \mathbf{a} \mathbf{b}^\top \\ &= \left(\mathbf{b} \mathbf{a}^\top\right)^\top",
        numpy=(
            "GRAD",
            "a@b.T",
            "(b@a.T).T",
        ),
        f="a.T@X@b",
        wrt="X",
        mistakes=(
            Mistake(1, r"\mathbf{b} \mathbf{a}^\top", "b@a.T", "transpose"),
            Mistake(2, r"-\left(\mathbf{b} \mathbf{a}^\top\right)^\top", "-(b@a.T).T", "sign"),
        ),
    ),
    Proof(
        name="cookbook-trace-square",
        source="Matrix Cookbook (108)",
        shapes={"X": ("n", "n")},
        latex=r"\frac{\partial \operatorname{tr}(X X)}{\partial X} = X^\top + X^\top = 2 X^\top",
        numpy=(
            "GRAD",
            "X.T + X.T",
            "2*X.T",
        ),
        f="trace(X@X)",
        wrt="X",
        mistakes=(
            Mistake(1, "X + X", "X + X", "transpose"),
            Mistake(2, r"X^\top", "X.T", "factor"),
        ),
    ),
    Proof(
        name="identity-transpose-product3",
        source="lecture Part II (transpose of a product)",
        shapes={"A": ("m", "k"), "B": ("k", "n"), "C": ("n", "p")},
        latex=r"(A B C)^\top &= (B C)^\top A^\top \\ &= C^\top B^\top A^\top",
        numpy=(
            "(A@B@C).T",
            "(B@C).T@A.T",
            "C.T@B.T@A.T",
        ),
        mistakes=(Mistake(2, r"(C^\top B^\top A^\top)^\top", "(C.T@B.T@A.T).T", "transpose"),),
    ),
    Proof(
        name="identity-transpose-square",
        source="lecture Part II (transpose of a product)",
        shapes={"A": ("n", "n"), "B": ("n", "n")},
        latex=r"(A B)^{\mathsf T} = B^{\mathsf T} A^{\mathsf T}",
        numpy=(
            "(A@B).T",
            "B.T@A.T",
        ),
        mistakes=(Mistake(1, r"A^{\mathsf T} B^{\mathsf T}", "A.T@B.T", "argument order"),),
    ),
    Proof(
        name="identity-distributive",
        source="lecture Part II (distributivity)",
        shapes={"A": ("m", "n"), "B": ("m", "n"), "u": ("n",), "v": ("n",)},
        latex=r"""(A + B)(\mathbf{u} + \mathbf{v}) &= A(\mathbf{u} + \mathbf{v}) + B(\mathbf{u} + \mathbf{v}) \\
&= A\mathbf{u} + A\mathbf{v} + B\mathbf{u} + B\mathbf{v}""",
        numpy=(
            "(A + B)@(u + v)",
            "A@(u + v) + B@(u + v)",
            "A@u + A@v + B@u + B@v",
        ),
        mistakes=(
            Mistake(
                1, r"A(\mathbf{u} + \mathbf{v}) + B\mathbf{u}", "A@(u + v) + B@u", "missing term"
            ),
            Mistake(
                2, r"A\mathbf{u} + A\mathbf{v} + B\mathbf{u}", "A@u + A@v + B@u", "missing term"
            ),
            Mistake(
                2,
                r"A\mathbf{u} + A\mathbf{v} - B\mathbf{u} - B\mathbf{v}",
                "A@u + A@v - B@u - B@v",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="identity-binomial",
        source="lecture Part II (matrix products do not commute)",
        shapes={"A": ("n", "n"), "B": ("n", "n")},
        latex="(A + B)(A + B) = A(A + B) + B(A + B) = A A + A B + B A + B B",
        numpy=(
            "(A + B)@(A + B)",
            "A@(A + B) + B@(A + B)",
            "A@A + A@B + B@A + B@B",
        ),
        mistakes=(
            Mistake(2, "A A + 2 A B + B B", "A@A + 2*A@B + B@B", "counterexample"),
            Mistake(2, "A A + B B", "A@A + B@B", "missing term"),
        ),
    ),
    Proof(
        name="identity-cross-terms",
        source="lecture Part II (scalar products are symmetric)",
        shapes={"u": ("n",), "v": ("n",)},
        latex=r"""(\mathbf{u} + \mathbf{v})^\top (\mathbf{u} - \mathbf{v}) &= \mathbf{u}^\top\mathbf{u} - \mathbf{u}^\top\mathbf{v} + \mathbf{v}^\top\mathbf{u} - \mathbf{v}^\top\mathbf{v} \\
&= \mathbf{u}^\top\mathbf{u} - \mathbf{u}^\top\mathbf{v} + \mathbf{u}^\top\mathbf{v} - \mathbf{v}^\top\mathbf{v} \quad \text{(scalar products commute)} \\
&= \mathbf{u}^\top\mathbf{u} - \mathbf{v}^\top\mathbf{v}""",
        numpy=(
            "(u + v).T@(u - v)",
            "u.T@u - u.T@v + v.T@u - v.T@v",
            "u.T@u - u.T@v + u.T@v - v.T@v",
            "u.T@u - v.T@v",
        ),
        mistakes=(
            Mistake(
                1,
                r"\mathbf{u}^\top\mathbf{u} - \mathbf{u}^\top\mathbf{v} + \mathbf{v}^\top\mathbf{u} + \mathbf{v}^\top\mathbf{v}",
                "u.T@u - u.T@v + v.T@u + v.T@v",
                "counterexample",
            ),
            Mistake(
                2,
                r"\mathbf{u}^\top\mathbf{u} - \mathbf{u}^\top\mathbf{v} - \mathbf{u}^\top\mathbf{v} - \mathbf{v}^\top\mathbf{v}",
                "u.T@u - u.T@v - u.T@v - v.T@v",
                "counterexample",
            ),
            Mistake(
                3,
                r"\mathbf{u}^\top\mathbf{u} - 2\,\mathbf{u}^\top\mathbf{v} - \mathbf{v}^\top\mathbf{v}",
                "u.T@u - 2*u.T@v - v.T@v",
                "extra term",
            ),
        ),
    ),
    Proof(
        name="identity-sigmoid-derivative",
        source="lecture Part III (σ′ = σ(1 − σ))",
        shapes={"z": ()},
        latex=r"""\frac{\exp(-z)}{(1 + \exp(-z))^2} &= \frac{1}{1 + \exp(-z)} \cdot \frac{\exp(-z)}{1 + \exp(-z)} \\
&= \frac{1}{1 + \exp(-z)} \left(1 - \frac{1}{1 + \exp(-z)}\right) \\
&= \sigma(z) (1 - \sigma(z))""",
        numpy=(
            "exp(-z)/(1 + exp(-z))**2",
            "1/(1 + exp(-z)) * (exp(-z)/(1 + exp(-z)))",
            "1/(1 + exp(-z)) * (1 - 1/(1 + exp(-z)))",
            "sigmoid(z)*(1 - sigmoid(z))",
        ),
        mistakes=(
            Mistake(3, r"\sigma(z)", "sigmoid(z)", "function for its derivative"),
            Mistake(
                3, r"\sigma(z) (1 + \sigma(z))", "sigmoid(z)*(1 + sigmoid(z))", "counterexample"
            ),
            Mistake(
                2,
                r"\frac{1}{1 + \exp(-z)} \left(1 + \frac{1}{1 + \exp(-z)}\right)",
                "1/(1 + exp(-z)) * (1 + 1/(1 + exp(-z)))",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="identity-tanh-derivative",
        source="lecture Part III (tanh′ through σ)",
        shapes={"z": ()},
        latex=r"1 - \tanh(z)^2 = 1 - (2\sigma(2z) - 1)^2 = 4\sigma(2z) - 4\sigma(2z)^2 = 4\sigma(2z)(1 - \sigma(2z))",
        numpy=(
            "1 - tanh(z)**2",
            "1 - (2*sigmoid(2*z) - 1)**2",
            "4*sigmoid(2*z) - 4*sigmoid(2*z)**2",
            "4*sigmoid(2*z)*(1 - sigmoid(2*z))",
        ),
        mistakes=(
            Mistake(
                3, r"2\sigma(2z)(1 - \sigma(2z))", "2*sigmoid(2*z)*(1 - sigmoid(2*z))", "factor"
            ),
            Mistake(1, r"1 - (2\sigma(2z) + 1)^2", "1 - (2*sigmoid(2*z) + 1)**2", "counterexample"),
        ),
    ),
    Proof(
        name="identity-diag-hadamard",
        source="lecture Part II (diag and ⊙)",
        shapes={"u": ("n",), "v": ("n",)},
        latex=r"\operatorname{diag}(\mathbf{u})\, \mathbf{v} = \mathbf{u} \odot \mathbf{v} = \mathbf{v} \circ \mathbf{u} = \operatorname{diag}(\mathbf{v})\, \mathbf{u}",
        numpy=(
            "diag(u)@v",
            "u*v",
            "v*u",
            "diag(v)@u",
        ),
        mistakes=(
            Mistake(1, r"\mathbf{u}^\top \mathbf{v}", "u.T@v", "matrix product for hadamard"),
            Mistake(
                3,
                r"\operatorname{diag}(\mathbf{v})\, \operatorname{diag}(\mathbf{u})",
                "diag(v)@diag(u)",
                "shape",
            ),
        ),
    ),
    Proof(
        name="identity-softmax-cross-entropy",
        source="Nielsen ch. 3 (softmax and log-likelihood)",
        shapes={"z": ("m",), "y": ("m", "probability")},
        latex=r"""-\sum\left(\mathbf{y} \odot \log \operatorname{softmax}(\mathbf{z})\right) &= -\sum\left(\mathbf{y} \odot \left(\mathbf{z} - \log\left(\sum(\exp(\mathbf{z}))\right)\right)\right) \\
&= -\mathbf{y}^\top \mathbf{z} + \log\left(\sum(\exp(\mathbf{z}))\right) \sum(\mathbf{y}) \\
&= \log\left(\sum(\exp(\mathbf{z}))\right) - \mathbf{y}^\top \mathbf{z}""",
        numpy=(
            "-sum(y*log(softmax(z)))",
            "-sum(y*(z - log(sum(exp(z)))))",
            "-y.T@z + log(sum(exp(z)))*sum(y)",
            "log(sum(exp(z))) - y.T@z",
        ),
        mistakes=(
            Mistake(
                1,
                r"-\sum\left(\mathbf{y} \odot \left(\mathbf{z} - \sum(\exp(\mathbf{z}))\right)\right)",
                "-sum(y*(z - sum(exp(z))))",
                "counterexample",
            ),
            Mistake(
                3,
                r"\log\left(\sum(\exp(\mathbf{z}))\right) + \mathbf{y}^\top \mathbf{z}",
                "log(sum(exp(z))) + y.T@z",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="identity-quadratic-form",
        source="lecture Part II (only the symmetric part of A counts)",
        shapes={"A": ("n", "n"), "x": ("n",)},
        latex=r"\mathbf{x}^T A \mathbf{x} = (\mathbf{x}^T A \mathbf{x})^T = \mathbf{x}^T A^T \mathbf{x} = \mathbf{x}^T \frac{A + A^T}{2} \mathbf{x}",
        numpy=(
            "x.T@A@x",
            "(x.T@A@x).T",
            "x.T@A.T@x",
            "x.T@((A + A.T)/2)@x",
        ),
        mistakes=(
            Mistake(3, r"\mathbf{x}^T (A + A^T) \mathbf{x}", "x.T@(A + A.T)@x", "factor"),
            Mistake(2, r"\mathbf{x}^T A^T A \mathbf{x}", "x.T@A.T@A@x", "counterexample"),
        ),
    ),
    Proof(
        name="identity-trace-outer",
        source="lecture Part II (trace of an outer product)",
        shapes={"u": ("n",), "v": ("n",)},
        latex=r"\operatorname{tr}(\mathbf{u} \mathbf{v}^\top) = \operatorname{tr}(\mathbf{v}^\top \mathbf{u}) = \mathbf{v}^\top \mathbf{u}",
        numpy=(
            "trace(u@v.T)",
            "trace(v.T@u)",
            "v.T@u",
        ),
        mistakes=(
            Mistake(
                1,
                r"\operatorname{tr}(\mathbf{v} \mathbf{u}^\top)^2",
                "trace(v@u.T)**2",
                "counterexample",
            ),
            Mistake(2, r"\mathbf{v} \mathbf{u}^\top", "v@u.T", "argument order"),
        ),
    ),
    Proof(
        name="lecture-neuron-w",
        source="lecture Part III (derivatives of a neuron)",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"""z = \mathbf{w}^\top \mathbf{x} + b \\
a = \sigma(z) \\
\frac{\partial a}{\partial \mathbf{w}} &= \sigma'(z)\, \mathbf{x} \\
&= \left(\sigma(z) - \sigma(z)^2\right) \mathbf{x}""",
        numpy=(
            "GRAD",
            "sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*x",
            "(sigmoid(w.T@x + b) - sigmoid(w.T@x + b)**2)*x",
        ),
        f="sigmoid(w.T@x + b)",
        wrt="w",
        where={
            "z": "w.T@x + b",
            "a": "sigmoid(w.T@x + b)",
        },
        mistakes=(
            Mistake(
                1, r"\sigma(z)\, \mathbf{x}", "sigmoid(w.T@x + b)*x", "function for its derivative"
            ),
            Mistake(
                1,
                r"\sigma'(z)\, \mathbf{w}",
                "sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*w",
                "counterexample",
            ),
            Mistake(
                2,
                r"\left(\sigma(z) - \sigma(z)^2\right) \mathbf{x}^\top",
                "(sigmoid(w.T@x + b) - sigmoid(w.T@x + b)**2)*x.T",
                "transpose",
            ),
        ),
    ),
    Proof(
        name="lecture-neuron-b",
        source="lecture Part III (derivatives of a neuron)",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"""z := \mathbf{w}^\top \mathbf{x} + b \\
\partial \sigma(z) / \partial b &= \sigma'(z) \cdot 1 \\
&= \frac{\exp(-z)}{(1 + \exp(-z))^2}""",
        numpy=(
            "GRAD",
            "sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*1",
            "exp(-(w.T@x + b))/(1 + exp(-(w.T@x + b)))**2",
        ),
        f="sigmoid(w.T@x + b)",
        wrt="b",
        where={
            "z": "w.T@x + b",
        },
        mistakes=(
            Mistake(1, r"\sigma(z) \cdot 1", "sigmoid(w.T@x + b)*1", "function for its derivative"),
            Mistake(
                2,
                r"\frac{\exp(z)}{(1 + \exp(-z))^2}",
                "exp(w.T@x + b)/(1 + exp(-(w.T@x + b)))**2",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="lecture-neuron-x",
        source="lecture Part III (derivatives of a neuron)",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"\nabla_{\mathbf{x}}\, \sigma(\mathbf{w}^\top \mathbf{x} + b) = \sigma'(\mathbf{w}^\top \mathbf{x} + b)\, \mathbf{w} = \mathbf{w}\, \sigma(\mathbf{w}^\top \mathbf{x} + b) \left(1 - \sigma(\mathbf{w}^\top \mathbf{x} + b)\right)",
        numpy=(
            "GRAD",
            "sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*w",
            "w*sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))",
        ),
        f="sigmoid(w.T@x + b)",
        wrt="x",
        mistakes=(
            Mistake(
                1,
                r"\sigma'(\mathbf{w}^\top \mathbf{x} + b)\, \mathbf{x}",
                "sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*x",
                "counterexample",
            ),
            Mistake(
                2,
                r"\mathbf{w}\, \sigma(\mathbf{w}^\top \mathbf{x} + b)",
                "w*sigmoid(w.T@x + b)",
                "function for its derivative",
            ),
        ),
    ),
    Proof(
        name="lecture-neuron-loss",
        source="lecture Part III (a neuron's squared error)",
        shapes={"w": ("n",), "x": ("n",), "b": (), "y": ()},
        latex=r"""z = \mathbf{w}^\top \mathbf{x} + b \\
a = \sigma(z) \\
C = \frac{1}{2} (a - y)^2 \\
\frac{\partial C}{\partial \mathbf{w}} &= (a - y)\, \sigma'(z)\, \mathbf{x} \quad \text{(chain rule through a and z)} \\
&= (a - y)\, a\, (1 - a)\, \mathbf{x}""",
        numpy=(
            "GRAD",
            "(sigmoid(w.T@x + b) - y)*(sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b)))*x",
            "(sigmoid(w.T@x + b) - y)*sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*x",
        ),
        f="(sigmoid(w.T@x + b) - y)**2/2",
        wrt="w",
        where={
            "z": "w.T@x + b",
            "a": "sigmoid(w.T@x + b)",
            "C": "(sigmoid(w.T@x + b) - y)**2/2",
        },
        mistakes=(
            Mistake(
                1,
                r"(a - y)\, \sigma(z)\, \mathbf{x}",
                "(sigmoid(w.T@x + b) - y)*sigmoid(w.T@x + b)*x",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"2 (a - y)\, \sigma'(z)\, \mathbf{x}",
                "2*(sigmoid(w.T@x + b) - y)*(sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b)))*x",
                "factor",
            ),
            Mistake(
                2,
                r"(y - a)\, a\, (1 - a)\, \mathbf{x}",
                "(y - sigmoid(w.T@x + b))*sigmoid(w.T@x + b)*(1 - sigmoid(w.T@x + b))*x",
                "sign",
            ),
        ),
    ),
    Proof(
        name="lecture-2layer-W2",
        source="lecture Part IV (backpropagation, 2 layers)",
        shapes={
            "x": ("n",),
            "W1": ("k", "n"),
            "b1": ("k",),
            "W2": ("m", "k"),
            "b2": ("m",),
            "y": ("m",),
        },
        latex=r"""\mathbf{z}_1 = W_1 \mathbf{x} + \mathbf{b}_1 \\
\mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\mathbf{a}_2 = \sigma(\mathbf{z}_2) \\
C = \frac{1}{2} \|\mathbf{a}_2 - \mathbf{y}\|_2^2 \\
\frac{\partial C}{\partial W_2} &= \left((\mathbf{a}_2 - \mathbf{y}) \odot \sigma'(\mathbf{z}_2)\right) \mathbf{a}_1^\top \quad \text{(BP1, BP4)} \\
&= \left((\mathbf{a}_2 - \mathbf{y}) \odot \mathbf{a}_2 \odot (\mathbf{1} - \mathbf{a}_2)\right) \mathbf{a}_1^\top""",
        numpy=(
            "GRAD",
            "((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*(sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))@sigmoid(W1@x + b1).T",
            "((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))@sigmoid(W1@x + b1).T",
        ),
        f="sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        wrt="W2",
        where={
            "z1": "W1@x + b1",
            "a1": "sigmoid(W1@x + b1)",
            "z2": "W2@sigmoid(W1@x + b1) + b2",
            "a2": "sigmoid(W2@sigmoid(W1@x + b1) + b2)",
            "C": "sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        },
        mistakes=(
            Mistake(
                1,
                r"\mathbf{a}_1 \left((\mathbf{a}_2 - \mathbf{y}) \odot \sigma'(\mathbf{z}_2)\right)^\top",
                "sigmoid(W1@x + b1)@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*(sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))).T",
                "transpose",
            ),
            Mistake(
                1,
                r"\left((\mathbf{a}_2 - \mathbf{y}) \odot \sigma(\mathbf{z}_2)\right) \mathbf{a}_1^\top",
                "((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2))@sigmoid(W1@x + b1).T",
                "function for its derivative",
            ),
            Mistake(
                2,
                r"\left((\mathbf{a}_2 - \mathbf{y}) \odot \mathbf{a}_2 \odot (\mathbf{1} - \mathbf{a}_2)\right) \sigma'(\mathbf{z}_1)^\top",
                "((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))@(sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))).T",
                "derivative for the function",
            ),
        ),
    ),
    Proof(
        name="lecture-2layer-b2",
        source="lecture Part IV (backpropagation, 2 layers)",
        shapes={
            "x": ("n",),
            "W1": ("k", "n"),
            "b1": ("k",),
            "W2": ("m", "k"),
            "b2": ("m",),
            "y": ("m",),
        },
        latex=r"""\begin{align*}
\mathbf{z}_1 = W_1 \mathbf{x} + \mathbf{b}_1 \\
\mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\mathbf{a}_2 = \sigma(\mathbf{z}_2) \\
\frac{\partial C}{\partial \mathbf{b}_2} &= (\mathbf{a}_2 - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
&= (\mathbf{a}_2 - \mathbf{y}) \odot \mathbf{a}_2 \odot (\mathbf{1} - \mathbf{a}_2) \nonumber
\end{align*}""",
        numpy=(
            "GRAD",
            "(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*(sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))",
            "(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))",
        ),
        f="sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        wrt="b2",
        where={
            "z1": "W1@x + b1",
            "a1": "sigmoid(W1@x + b1)",
            "z2": "W2@sigmoid(W1@x + b1) + b2",
            "a2": "sigmoid(W2@sigmoid(W1@x + b1) + b2)",
        },
        mistakes=(
            Mistake(
                1,
                r"(\mathbf{a}_2 - \mathbf{y}) \odot \sigma(\mathbf{z}_2)",
                "(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"\mathbf{a}_2 - \mathbf{y}",
                "sigmoid(W2@sigmoid(W1@x + b1) + b2) - y",
                "counterexample",
            ),
            Mistake(
                2,
                r"\left((\mathbf{a}_2 - \mathbf{y}) \odot \mathbf{a}_2 \odot (\mathbf{1} - \mathbf{a}_2)\right) \mathbf{a}_1^\top",
                "((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))@sigmoid(W1@x + b1).T",
                "shape",
            ),
        ),
    ),
    Proof(
        name="lecture-2layer-W1",
        source="lecture Part IV (backpropagation, 2 layers)",
        shapes={
            "x": ("n",),
            "W1": ("k", "n"),
            "b1": ("k",),
            "W2": ("m", "k"),
            "b2": ("m",),
            "y": ("m",),
        },
        latex=r"""\mathbf{z}_1 = W_1 \mathbf{x} + \mathbf{b}_1 \\
\mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\mathbf{a}_2 = \sigma(\mathbf{z}_2) \\
\boldsymbol{\delta}_2 = (\mathbf{a}_2 - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
\boldsymbol{\delta}_1 = (W_2^\top \boldsymbol{\delta}_2) \odot \sigma'(\mathbf{z}_1) \\
\frac{\partial C}{\partial W_1} &= \boldsymbol{\delta}_1 \mathbf{x}^\top \\
&= \left(\left(W_2^\top \boldsymbol{\delta}_2\right) \odot \sigma'(\mathbf{z}_1)\right) \mathbf{x}^\top \\
&= \operatorname{diag}(\sigma'(\mathbf{z}_1))\, W_2^\top \boldsymbol{\delta}_2\, \mathbf{x}^\top""",
        numpy=(
            "GRAD",
            "((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1)))@x.T",
            "((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*(sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))))@x.T",
            "diag(sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1)))@W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))@x.T",
        ),
        f="sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        wrt="W1",
        where={
            "z1": "W1@x + b1",
            "a1": "sigmoid(W1@x + b1)",
            "z2": "W2@sigmoid(W1@x + b1) + b2",
            "a2": "sigmoid(W2@sigmoid(W1@x + b1) + b2)",
            "δ2": "(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))",
            "δ1": "(W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))",
        },
        mistakes=(
            Mistake(
                1,
                r"\mathbf{x} \boldsymbol{\delta}_1^\top",
                "x@((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))).T",
                "transpose",
            ),
            Mistake(
                2,
                r"\left(\left(W_2^\top \boldsymbol{\delta}_2\right) \odot \sigma(\mathbf{z}_1)\right) \mathbf{x}^\top",
                "((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1))@x.T",
                "function for its derivative",
            ),
            Mistake(
                3,
                r"\operatorname{diag}(\sigma(\mathbf{z}_1))\, W_2^\top \boldsymbol{\delta}_2\, \mathbf{x}^\top",
                "diag(sigmoid(W1@x + b1))@W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))@x.T",
                "function for its derivative",
            ),
            Mistake(
                3,
                r"W_2^\top \boldsymbol{\delta}_2\, \mathbf{x}^\top",
                "W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2)))@x.T",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="lecture-2layer-b1",
        source="lecture Part IV (backpropagation, 2 layers)",
        shapes={
            "x": ("n",),
            "W1": ("k", "n"),
            "b1": ("k",),
            "W2": ("m", "k"),
            "b2": ("m",),
            "y": ("m",),
        },
        latex=r"""\begin{aligned}
\mathbf{z}_1 = W_1 \mathbf{x} + \mathbf{b}_1 \\
\mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\mathbf{a}_2 = \sigma(\mathbf{z}_2) \\
\delta_2 &\coloneqq (\mathbf{a}_2 - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
\frac{\partial C}{\partial \mathbf{b}_1} &= \left(W_2^\top \delta_2\right) \odot \sigma'(\mathbf{z}_1) \\
&= \left(W_2^\top \delta_2\right) \odot \left(\mathbf{a}_1 - \mathbf{a}_1 \odot \mathbf{a}_1\right)
\end{aligned}""",
        numpy=(
            "GRAD",
            "(W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*(sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1)))",
            "(W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*(sigmoid(W1@x + b1) - sigmoid(W1@x + b1)*sigmoid(W1@x + b1))",
        ),
        f="sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        wrt="b1",
        where={
            "z1": "W1@x + b1",
            "a1": "sigmoid(W1@x + b1)",
            "z2": "W2@sigmoid(W1@x + b1) + b2",
            "a2": "sigmoid(W2@sigmoid(W1@x + b1) + b2)",
            "δ2": "(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))",
        },
        mistakes=(
            Mistake(
                1,
                r"\left(W_2^\top \delta_2\right) \odot \sigma(\mathbf{z}_1)",
                "(W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)",
                "function for its derivative",
            ),
            Mistake(
                1,
                r"\left(W_2^\top \left(\mathbf{a}_2 - \mathbf{y}\right)\right) \odot \sigma'(\mathbf{z}_1)",
                "(W2.T@(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y))*(sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1)))",
                "counterexample",
            ),
            Mistake(
                2,
                r"\left(W_2^\top \delta_2\right) \odot \left(\mathbf{a}_1 + \mathbf{a}_1 \odot \mathbf{a}_1\right)",
                "(W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*(sigmoid(W1@x + b1) + sigmoid(W1@x + b1)*sigmoid(W1@x + b1))",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="lecture-2layer-x",
        source="lecture Part IV (backpropagation to the input)",
        shapes={
            "x": ("n",),
            "W1": ("k", "n"),
            "b1": ("k",),
            "W2": ("m", "k"),
            "b2": ("m",),
            "y": ("m",),
        },
        latex=r"""\mathbf{z}_1 = W_1 \mathbf{x} + \mathbf{b}_1 \\
\mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
\mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
\mathbf{a}_2 = \sigma(\mathbf{z}_2) \\
\boldsymbol{\delta}_2 := (\mathbf{a}_2 - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
\boldsymbol{\delta}_1 := (W_2^\top \boldsymbol{\delta}_2) \odot \sigma'(\mathbf{z}_1) \\
\nabla_{\mathbf{x}} C &= W_1^\top \boldsymbol{\delta}_1 \\
&= \left(\boldsymbol{\delta}_1^\top W_1\right)^\top""",
        numpy=(
            "GRAD",
            "W1.T@((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1)))",
            "(((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))).T@W1).T",
        ),
        f="sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        wrt="x",
        where={
            "z1": "W1@x + b1",
            "a1": "sigmoid(W1@x + b1)",
            "z2": "W2@sigmoid(W1@x + b1) + b2",
            "a2": "sigmoid(W2@sigmoid(W1@x + b1) + b2)",
            "δ2": "(sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))",
            "δ1": "(W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))",
        },
        mistakes=(
            Mistake(
                1,
                r"\boldsymbol{\delta}_1^\top W_1",
                "((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))).T@W1",
                "transpose",
            ),
            Mistake(
                2,
                r"\left(\boldsymbol{\delta}_1^\top W_1\right)^\top \odot \sigma'(\mathbf{x})",
                "(((W2.T@((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)*sigmoid(W2@sigmoid(W1@x + b1) + b2)*(1 - sigmoid(W2@sigmoid(W1@x + b1) + b2))))*sigmoid(W1@x + b1)*(1 - sigmoid(W1@x + b1))).T@W1).T*(sigmoid(x)*(1 - sigmoid(x)))",
                "counterexample",
            ),
        ),
    ),
    Proof(
        name="lecture-neuron-z",
        source="lecture Part III (derivatives of a neuron)",
        shapes={"w": ("n",), "x": ("n",), "b": ()},
        latex=r"\frac{\partial (\mathbf{w}^\top \mathbf{x} + b)}{\partial \mathbf{w}} = \mathbf{x} \cdot 1 + 0 = \mathbf{x}",
        numpy=(
            "GRAD",
            "x*1 + 0",
            "x",
        ),
        f="w.T@x + b",
        wrt="w",
        mistakes=(
            Mistake(1, r"\mathbf{x} \cdot 1 + b", "x*1 + b", "extra term"),
            Mistake(2, r"\mathbf{x}^\top", "x.T", "transpose"),
            Mistake(2, r"\mathbf{w}", "w", "counterexample"),
        ),
    ),
)
