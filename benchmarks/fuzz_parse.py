"""Fuzz mc.parse: random strings and random mutations of valid formulas.

Every input must either parse to an expression or raise mc.ParseError or
mc.ShapeError, quickly; anything else (another exception, a hang) is a bug.

    python benchmarks/fuzz_parse.py [COUNT]      (default 100,000)
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter

import matcalc as mc

ALPHABET = "xyzAWXbc()+-*/@^'.,T0123456789e _sumexptrlogdinvorm=\"#[]{}:;\\!<>&|~`$%?\t"
VALID = [
    "sum((sigmoid(W@x + b) - y)**2)/2", "x'*A*x", "trace(A@X@B)", "log(det(X)) + norm2(x)",
    "x.T@A@x", "A'''", "x .* y ./ z", "c^2 * A", "sum(X, axis=0)", "softmax(W@x) - y",
    "maximum(0, w.T@x + b)", "inv(A) @ x", "exp(-y .* (X*w))", "2.5e-3 * x + 1E2",
]  # fmt: skip


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["del", "ins", "rep", "dup"])
        where = rng.randrange(len(chars) + 1)
        if kind == "del" and chars:
            del chars[min(where, len(chars) - 1)]
        elif kind == "ins":
            chars.insert(where, rng.choice(ALPHABET))
        elif kind == "rep" and chars:
            chars[min(where, len(chars) - 1)] = rng.choice(ALPHABET)
        elif kind == "dup":
            chars[where:where] = chars[: rng.randint(0, 10)]
    return "".join(chars)


def main(count: int = 100_000, seed: int = 0) -> int:
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    slowest, failures = 0.0, []
    start = time.perf_counter()
    for i in range(count):
        if i % 2:
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
        else:
            text = mutate(rng, rng.choice(VALID))
        began = time.perf_counter()
        try:
            mc.parse(text)
            outcomes["parsed"] += 1
        except mc.ParseError:
            outcomes["ParseError"] += 1
        except mc.ShapeError:
            outcomes["ShapeError"] += 1
        except Exception as error:
            outcomes["other"] += 1
            failures.append((text, repr(error)))
        slowest = max(slowest, time.perf_counter() - began)
    seconds = time.perf_counter() - start
    print(f"{count} inputs in {seconds:.1f} s: {dict(outcomes)}; slowest {1000 * slowest:.1f} ms")
    for text, error in failures[:10]:
        print(f"  {text!r}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
