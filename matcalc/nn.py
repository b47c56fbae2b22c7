"""A small multilayer perceptron whose backpropagation is derived by the engine.

``Network([64, 32, 10], activation="relu", cost="cross_entropy")`` builds the
cost of a batch (one example per column; biases broadcast across it),
derives its gradient with respect to every weight and bias in one reverse
sweep (Nielsen's BP1–BP4 come out of the chain rule, δ reused layer to
layer), compiles forward and backward numpy functions through
``mc.compile``, and trains with minibatch SGD.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from . import constructors as C
from . import expr as E
from .codegen import CompiledFunction
from .codegen import compile as compile_expression
from .derivation import Derivation, Partial, Step
from .dims import dims
from .errors import DeclarationError, ShapeError
from .stepwise import derive

ACTIVATIONS = {"sigmoid": C.sigmoid, "tanh": C.tanh, "relu": C.relu}
COSTS = ("quadratic", "cross_entropy")


@dataclass
class History:
    """What training did: one record per epoch (epoch, lr: the step size, loss and
    accuracy on the training set, test_loss and test_accuracy when a test set is
    given, seconds)."""

    epochs: list[dict] = field(default_factory=list)

    def __getitem__(self, index: int) -> dict:
        return self.epochs[index]

    def __len__(self) -> int:
        return len(self.epochs)

    def column(self, key: str) -> list[float]:
        return [record[key] for record in self.epochs]

    def line(self, index: int = -1, epochs: int | None = None) -> str:
        """One epoch's progress on one line: the step size, the training cost and
        accuracy, the test cost and accuracy (when measured) and the time taken."""
        record = self.epochs[index]
        of = f"/{epochs}" if epochs else ""
        width = len(str(epochs or record["epoch"]))
        text = (
            f"epoch {record['epoch']:>{width}}{of}  step {record['lr']:.3f}  "
            f"train loss {record['loss']:.4f} accuracy {record['accuracy']:.1%}"
        )
        if "test_loss" in record:
            text += f"  test loss {record['test_loss']:.4f} accuracy {record['test_accuracy']:.1%}"
        return text + f"  ({record['seconds']:.2f} s)"

    def __str__(self) -> str:
        return "\n".join(self.line(k) for k in range(len(self.epochs)))


class Network:
    """An MLP: z = W a + b, a = f(z) per layer; the cost is averaged over the batch."""

    def __init__(self, sizes: list[int], activation: str = "sigmoid", cost: str = "quadratic"):
        if len(sizes) < 2 or not all(isinstance(k, int) and k > 0 for k in sizes):
            raise DeclarationError(f"Network: sizes must be two or more positive ints, got {sizes}")
        if activation not in ACTIVATIONS:
            raise DeclarationError(
                f"Network: activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        if cost not in COSTS:
            raise DeclarationError(f"Network: cost must be one of {', '.join(COSTS)}, got {cost!r}")
        self.sizes, self.activation = list(sizes), activation
        batch = dims("B")
        self.X = C.matrix("X", sizes[0], batch)
        self.Y = C.matrix("Y", sizes[-1], batch)
        self.weights = [C.matrix(f"W{i}", sizes[i], sizes[i - 1]) for i in range(1, len(sizes))]
        self.biases = [C.vector(f"b{i}", sizes[i]) for i in range(1, len(sizes))]
        act = ACTIVATIONS[activation]
        a: E.Expr = self.X
        for i, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = W @ a + b
            last = i == len(self.weights) - 1
            a = z if last and cost == "cross_entropy" else act(z)
        if cost == "quadratic":
            self.output = a
            self.cost = C.sum((a - self.Y) ** 2) / (2 * batch)
        else:  # softmax with cross-entropy: per column logsumexp(z) − yᵀz (y one-hot)
            self.output = C.softmax(a)
            self.cost = (C.sum(C.logsumexp(a)) - C.sum(self.Y * a)) / batch
        self.parameters = [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]
        self._derivations: dict[str, Derivation] = {}  # by detail
        self._backward: CompiledFunction | None = None
        self._forward: CompiledFunction | None = None
        self._value: CompiledFunction | None = None  # the cost alone, for train's readout

    # -- the mathematics ------------------------------------------------------------------------
    def derivation(self, detail: str = "compact") -> Derivation:
        """The gradient of the cost w.r.t. every W and b, step by step, Nielsen's four
        equations labelled: BP1 the output error δᴸ, BP2 each earlier δˡ from the next,
        BP3 ∂C/∂bˡ, BP4 ∂C/∂Wˡ (Nielsen, ch. 2).  detail as in ``mc.derive``: "lecture"
        gives every local Jacobian and chain-rule product, layer by layer."""
        if detail not in self._derivations:
            derivation = derive(self.cost, self.parameters, name="C", detail=detail)
            derivation.steps = [
                replace(step, label=label) if (label := self._label(step)) else step
                for step in derivation.steps
            ]
            self._derivations[detail] = derivation
        return self._derivations[detail]

    def _label(self, step: Step) -> str:
        """Which of BP1–BP4 a step of the derivation states, if any."""
        if step.define is not None:
            index = step.define.text.rstrip("ᵀ")[1:] or str(len(self.weights))
            return "BP1" if index == str(len(self.weights)) else "BP2"
        if "result" in step.rule + step.note and isinstance(step.pieces[0], Partial):
            return "BP4" if step.pieces[0].den.text.startswith("W") else "BP3"
        return ""

    def equations(self) -> list[str]:
        """Nielsen's four equations as the derivation found them, one line each."""
        lines = []
        for step in self.derivation().steps:
            if step.label and step.define is not None:
                definition = step.define.text.rstrip("ᵀ")
                lines.append(f"{step.label}  {definition} = {step.pieces[-1].text(step.names)}")
            elif step.label:
                lines.append(f"{step.label}  {step.formula()}")
        return lines

    # -- numbers -----------------------------------------------------------------------------------
    def compile(self) -> tuple[Callable, Callable]:
        """forward(params, X) → the output; backward(params, X, Y) → (cost, gradients)."""
        if self._backward is None:
            self._backward = compile_expression(self.cost, wrt=self.parameters)
            self._forward = compile_expression(self.output)
        backward_fn, forward_fn = self._backward, self._forward
        assert backward_fn is not None and forward_fn is not None
        order = backward_fn.arguments
        forward_order = forward_fn.arguments
        names = [p.name for p in self.parameters]

        def forward(params: dict, X: np.ndarray) -> np.ndarray:
            arrays = {**params, "X": X}
            return forward_fn.raw(*[arrays[n] for n in forward_order])[0]

        def backward(params: dict, X: np.ndarray, Y: np.ndarray):
            arrays = {**params, "X": X, "Y": Y}
            value, *grads = backward_fn.raw(*[arrays[n] for n in order])
            return float(value[0, 0]), dict(zip(names, grads, strict=True))

        forward.source = forward_fn.source  # type: ignore[attr-defined]
        backward.source = backward_fn.source  # type: ignore[attr-defined]
        backward.checked = backward_fn  # type: ignore[attr-defined]
        return forward, backward

    def init_params(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Weights N(0, 1/fan_in) (He for relu: 2/fan_in), biases zero."""
        rng = np.random.default_rng(seed)
        gain = 2.0 if self.activation == "relu" else 1.0
        params = {}
        for W, b in zip(self.weights, self.biases, strict=True):
            fan_in = W.shape[1]
            params[W.name] = rng.normal(0.0, np.sqrt(gain / fan_in), size=W.shape)
            params[b.name] = np.zeros(b.shape)
        return params

    def check_batch(self, X: np.ndarray, Y: np.ndarray | None = None) -> None:
        if X.ndim != 2 or X.shape[0] != self.sizes[0]:
            raise ShapeError(
                f"Network: X must be ({self.sizes[0]}, batch), one example per column; got "
                f"{X.shape}"
            )
        if Y is not None and (Y.ndim != 2 or Y.shape != (self.sizes[-1], X.shape[1])):
            raise ShapeError(f"Network: Y must be ({self.sizes[-1]}, {X.shape[1]}); got {Y.shape}")

    def accuracy(self, params: dict, X: np.ndarray, labels: np.ndarray) -> float:
        forward, _ = self.compile()
        return float(np.mean(np.argmax(forward(params, X), axis=0) == labels))

    def train(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        epochs: int = 10,
        lr: float | Callable[[int], float] = 0.5,
        batch_size: int = 32,
        seed: int = 0,
        X_test: np.ndarray | None = None,
        Y_test: np.ndarray | None = None,
        params: dict | None = None,
        log: Callable[[str], None] | None = print,
        decay: float = 0.0,
    ) -> tuple[dict, History]:
        """Minibatch SGD: W ← W − η ∂C/∂W per batch, and one line of progress per epoch.

        The step size of epoch e (from 1) is η = lr / (1 + decay·(e − 1)), or lr(e) when
        lr is a function.  Each epoch shuffles the examples and cuts them into
        ⌈count / batch_size⌉ batches of nearly equal size: a ragged last batch of a few
        examples would take a whole step along a noisy gradient just before the epoch is
        measured.  After each epoch the cost and accuracy on all the training examples
        (and on X_test, Y_test when given) are recorded in the History and, unless log is
        None, printed on one line.
        """
        self.check_batch(X, Y)
        if X_test is not None and Y_test is not None:
            self.check_batch(X_test, Y_test)
        _, backward = self.compile()
        params = {k: v.copy() for k, v in (params or self.init_params(seed)).items()}
        rng = np.random.default_rng(seed)
        history = History()
        count = X.shape[1]
        batches = max(1, -(-count // batch_size))
        labels = np.argmax(Y, axis=0)
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            step = float(lr(epoch)) if callable(lr) else lr / (1.0 + decay * (epoch - 1))
            for batch in np.array_split(rng.permutation(count), batches):
                _, grads = backward(params, X[:, batch], Y[:, batch])
                for name, g in grads.items():
                    params[name] -= step * g
            record = {
                "epoch": epoch,
                "lr": step,
                "loss": self._cost(params, X, Y),
                "accuracy": self.accuracy(params, X, labels),
            }
            if X_test is not None and Y_test is not None:
                record["test_loss"] = self._cost(params, X_test, Y_test)
                record["test_accuracy"] = self.accuracy(params, X_test, np.argmax(Y_test, axis=0))
            record["seconds"] = time.perf_counter() - start
            history.epochs.append(record)
            if log is not None:
                log(history.line(-1, epochs))
        return params, history

    def _cost(self, params: dict, X: np.ndarray, Y: np.ndarray) -> float:
        """The cost of a whole set, without its gradient (train's readout)."""
        if self._value is None:
            self._value = compile_expression(self.cost)
        arrays = {**params, "X": X, "Y": Y}
        return float(self._value.raw(*[arrays[n] for n in self._value.arguments])[0][0, 0])


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """Labels 0..classes−1 as columns of an identity: shape (classes, count)."""
    out = np.zeros((classes, len(labels)))
    out[labels, np.arange(len(labels))] = 1.0
    return out
