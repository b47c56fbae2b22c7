"""The main job: derive a network's backpropagation, write it up, compile it,
check it, and train it on real handwritten digits.

Run with ``python -m matcalc.demo`` (``make demo``).  In order:
1. Parr & Howard's neuron loss: its gradients, checked by finite differences;
2. a [64, 32, 10] relu network with softmax cross-entropy: the derivation of
   its gradient step by step (Nielsen's BP1–BP4), written to out/ as .tex
   and, where pdflatex is installed, .pdf;
3. the compiled numpy code, and its gradient checked by finite differences;
4. minibatch SGD on scikit-learn's bundled digits (1,797 8×8 images, no
   download) with a decaying step size, one line of progress per epoch, the
   test accuracy, and the training and test cost and accuracy on one figure
   (out/training.png).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import matcalc as mc
from matcalc.errors import MatcalcError
from matcalc.nn import Network, one_hot

# The demo extra (pip install 'matcalc-chainrule[demo]'): the digits and the plot.
try:
    from sklearn.datasets import load_digits
except ImportError:  # pragma: no cover - the test extra installs it
    load_digits = None
try:
    # The figure API needs no pyplot and no backend switch, so importing the demo
    # (the notebooks import digits from it) leaves a notebook's inline plots alone.
    from matplotlib.figure import Figure
except ImportError:  # pragma: no cover
    Figure = None  # type: ignore[assignment, misc]

DEMO_EXTRA = "pip install 'matcalc-chainrule[demo]'"


def finite_difference_check(f: mc.Expr, x: mc.Variable, values: dict, step: float = 1e-6) -> float:
    """Largest relative gap between mc.evaluate(grad) and central differences."""
    derived = np.asarray(mc.evaluate(mc.grad(f, x), values), dtype=float).reshape(-1)
    base = np.asarray(values[x.name], dtype=float)
    numeric = np.empty(base.size)
    for k in range(base.size):
        shifted = base.copy().reshape(-1)
        shifted[k] += step
        up = mc.evaluate(f, {**values, x.name: shifted.reshape(base.shape)})
        shifted[k] -= 2 * step
        down = mc.evaluate(f, {**values, x.name: shifted.reshape(base.shape)})
        numeric[k] = (up - down) / (2 * step)
    scale = max(1.0, float(np.max(np.abs(numeric))))
    return float(np.max(np.abs(derived - numeric))) / scale


def neuron() -> float:
    n, N = mc.dims("n N")
    w, b = mc.vector("w", n), mc.scalar("b")
    X, y = mc.matrix("X", n, N), mc.vector("y", N)  # one example per column
    cost = mc.sum((y - mc.maximum(0, X.T @ w + b)) ** 2) / N
    rng = np.random.default_rng(0)
    values = {
        "w": rng.normal(size=3),
        "X": rng.normal(size=(3, 5)),
        "b": 0.1,
        "y": rng.normal(size=5),
    }
    print("== 1. Parr & Howard's neuron: C = (1/N) Σ (yᵢ − max(0, w·xᵢ + b))²")
    print(f"C = {cost}")
    worst = 0.0
    for p, g in zip([w, b], mc.grad(cost, [w, b]), strict=True):
        gap = finite_difference_check(cost, p, values)
        worst = max(worst, gap)
        print(f"∂C/∂{p.name} = {g}    (finite differences agree to {gap:.1e})")
    print()
    return worst


def compiled_gradient_check(network: Network, params: dict, X: np.ndarray, Y: np.ndarray) -> float:
    """Compiled ∂C/∂W against central differences of the compiled cost, 20 random entries."""
    _, backward = network.compile()
    _, grads = backward(params, X, Y)
    rng = np.random.default_rng(1)
    worst = 0.0
    for name in grads:
        for _ in range(5):
            index = tuple(int(rng.integers(0, k)) for k in params[name].shape)
            moved = {k: v.copy() for k, v in params.items()}
            moved[name][index] += 1e-6
            up, _ = backward(moved, X, Y)
            moved[name][index] -= 2e-6
            down, _ = backward(moved, X, Y)
            numeric = (up - down) / 2e-6
            worst = max(worst, abs(numeric - grads[name][index]) / max(1.0, abs(numeric)))
    return worst


def figure(history, title: str = "Training on the digits"):
    """The training curve on one figure: the cost (left) and the accuracy (right), each
    on the training and the test set, per epoch.  A matplotlib Figure (no pyplot): a
    notebook displays it inline, plot() saves it."""
    if Figure is None:
        raise MatcalcError(f"the plot needs matplotlib: {DEMO_EXTRA}")
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    loss, accuracy = fig.subplots(1, 2)
    epochs = history.column("epoch")
    tested = "test_loss" in history[0]
    loss.plot(epochs, history.column("loss"), "o-", markersize=3, label="training set")
    accuracy.plot(epochs, history.column("accuracy"), "o-", markersize=3, label="training set")
    if tested:
        loss.plot(epochs, history.column("test_loss"), "s-", markersize=3, label="test set")
        accuracy.plot(epochs, history.column("test_accuracy"), "s-", markersize=3, label="test set")
    loss.set(xlabel="epoch", ylabel="cost C (mean over the set)", title="Cost", ylim=(0, None))
    low = min(history.column("accuracy") + (history.column("test_accuracy") if tested else []))
    accuracy.set(
        xlabel="epoch",
        ylabel="accuracy (fraction classified correctly)",
        title="Accuracy",
        ylim=(max(0.0, min(0.9, low) - 0.02), 1.0),
    )
    for axes in (loss, accuracy):
        axes.grid(True, alpha=0.3)
        axes.legend()
    fig.suptitle(title)
    return fig


def plot(history, path: Path) -> Path | None:
    """Save figure(history) as a PNG (None, with a message, without matplotlib)."""
    if Figure is None:
        print(f"matplotlib is not installed: no plot ({DEMO_EXTRA})")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    figure(history).savefig(path, dpi=110)
    return path


def digits(seed: int = 0):
    """scikit-learn's bundled 8×8 digits, scaled to [0, 1], split 75/25; one example per column."""
    if load_digits is None:
        raise MatcalcError(f"the digits come with scikit-learn: {DEMO_EXTRA}")
    data = load_digits()
    X, labels = data.data.T / 16.0, data.target
    order = np.random.default_rng(seed).permutation(len(labels))
    cut = int(0.75 * len(labels))
    train, test = order[:cut], order[cut:]
    return X[:, train], labels[train], X[:, test], labels[test]


# The step size: 0.2 at first, shrinking as 0.2 / (1 + 0.2 (epoch − 1)) (0.05 by epoch 16),
# with batches of nearly equal size.  The curve it gives rises smoothly; a constant 0.1 with
# a ragged last batch of 3 images made the test accuracy fall from 97% to 88% and back.
TRAINING: dict[str, Any] = {"lr": 0.2, "decay": 0.2, "batch_size": 32, "seed": 0}


def train(network: Network, X_train, Y_train, X_test, Y_test, epochs: int = 30, log=print):
    """The demo's training run: TRAINING's settings, a line of progress per epoch."""
    return network.train(
        X_train, Y_train, epochs=epochs, X_test=X_test, Y_test=Y_test, log=log, **TRAINING
    )


def main(out: Path = Path("out"), epochs: int = 30) -> int:
    started = time.perf_counter()
    worst = neuron()

    network = Network([64, 32, 10], activation="relu", cost="cross_entropy")
    print("== 2. A [64, 32, 10] network: relu, softmax with cross-entropy, a batch per column")
    derivation = network.derivation()
    print(derivation.text())
    print()
    print("Nielsen's four equations, as the engine derived them:")
    print("\n".join("  " + line for line in network.equations()))
    tex = derivation.write_tex(out / "network_derivation.tex")
    print(f"wrote {tex}")
    try:
        print(f"wrote {derivation.write_pdf(out / 'network_derivation.pdf')}")
    except mc.LatexError as problem:
        print(problem)
    print()

    X_train, y_train, X_test, y_test = digits()
    Y_train, Y_test = one_hot(y_train, 10), one_hot(y_test, 10)
    forward, backward = network.compile()
    print("== 3. The compiled backward pass (generated by sympy's lambdify):")
    print(backward.source)  # type: ignore[attr-defined]
    params = network.init_params(seed=0)
    gap = compiled_gradient_check(network, params, X_train[:, :50], Y_train[:, :50])
    worst = max(worst, gap)
    print(f"compiled gradients agree with finite differences to {gap:.1e} (20 entries)")
    print()

    sizes = f"{X_train.shape[1]} training and {X_test.shape[1]} test images"
    print(f"== 4. Training on the digits: {sizes}")
    print(
        f"minibatch SGD, batches of {TRAINING['batch_size']}, step size "
        f"{TRAINING['lr']} / (1 + {TRAINING['decay']} (epoch − 1))"
    )
    params, history = train(network, X_train, Y_train, X_test, Y_test, epochs=epochs)
    accuracy = network.accuracy(params, X_test, y_test)
    print(f"test accuracy: {accuracy:.1%}")
    picture = plot(history, out / "training.png")
    if picture is not None:
        print(f"wrote {picture}")
    ok = worst < 1e-5 and accuracy >= 0.95
    print(f"done in {time.perf_counter() - started:.1f} s" + ("" if ok else " — CHECK FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
