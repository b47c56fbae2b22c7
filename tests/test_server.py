"""`matcalc serve`: the JSON endpoints the page calls, tested over HTTP on loopback.

Status codes and error bodies, the time limit (a pathological formula answers 504
within it and the server goes on), the size limits, 20 concurrent requests,
hostile input, requests from other sites, a worker that dies, and the command.
"""

from __future__ import annotations

import ast
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from matcalc.server import (
    MAX_ANSWER,
    MAX_BODY,
    MAX_FORMULA,
    WEB,
    Server,
    is_loopback,
    static_files,
    warning,
)

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 2.0  # the test server's time limit, seconds
# 28 characters that take sympy about 20 s: the derivative of a product of two
# high powers, expanded
PATHOLOGICAL = "sum((x+1)**200 * (x-2)**200)"


@pytest.fixture(scope="module")
def server():
    with Server("127.0.0.1", 0, time_limit=LIMIT, workers=2, quiet=True).start() as running:
        yield running


def request(server, method: str, path: str, body: bytes | None = None, headers=None):
    """(status, headers, body as JSON or bytes) of one request."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        kind = response.getheader("Content-Type", "")
        return response.status, response, json.loads(data) if "json" in kind else data
    finally:
        connection.close()


def post(server, endpoint: str, **fields):
    body = json.dumps(fields).encode()
    status, _, data = request(
        server, "POST", f"/api/{endpoint}", body, {"Content-Type": "application/json"}
    )
    return status, data


def healthy(server) -> bool:
    status, _, data = request(server, "GET", "/api/health")
    return status == 200 and data["ok"] is True


# -- the page and its files --------------------------------------------------------------------
def test_the_page_and_its_files_are_served_with_a_strict_policy(server) -> None:
    status, response, page = request(server, "GET", "/")
    assert status == 200 and response.getheader("Content-Type") == "text/html; charset=utf-8"
    policy = response.getheader("Content-Security-Policy")
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    html = page.decode()
    linked = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert "/static/katex/katex.min.js" in linked and "/static/app.js" in linked
    for path in linked:
        assert request(server, "GET", path)[0] == 200, path
    # no inline script nor handler: the policy would refuse them
    assert not re.search(r"<script(?![^>]*\ssrc=)", html) and not re.search(r"\son[a-z]+=", html)
    status, response, _ = request(server, "GET", "/static/katex/fonts/KaTeX_Main-Regular.woff2")
    assert status == 200 and response.getheader("Content-Type") == "font/woff2"
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/nothing", "/static/"):
        assert request(server, "GET", path)[0] == 404, path
    status, _, data = request(server, "GET", "/api/derive")
    assert status == 405 and data["error"]["kind"] == "method_not_allowed"


def test_no_asset_comes_from_the_network() -> None:
    """Offline: the page's own files name no other host, and KaTeX's stylesheet finds
    every font it needs first (woff2) beside it."""
    for name in ("index.html", "app.js", "style.css"):
        assert not re.search(r"https?://|//[a-z]", (WEB / name).read_text()), name
    css = (WEB / "katex" / "katex.min.css").read_text()
    fonts = re.findall(r"url\((fonts/[^)]+\.woff2)\)", css)
    assert len(fonts) >= 20 and all((WEB / "katex" / font).is_file() for font in fonts)
    assert set(static_files()) >= {"/static/app.js", "/static/katex/LICENSE"}


def test_katex_is_vendored_from_its_npm_release_with_its_license() -> None:
    vendored = WEB / "katex" / "katex.min.js"
    assert 'version:"0.16.47"' in vendored.read_text()
    assert "MIT License" in (WEB / "katex" / "LICENSE").read_text()
    npm = ROOT / "tests" / "katex" / "node_modules" / "katex" / "dist" / "katex.min.js"
    if npm.is_file():  # the same release as tests/test_katex.py renders with
        assert npm.read_bytes() == vendored.read_bytes()


def test_health_says_what_the_server_can_do(server) -> None:
    status, _, data = request(server, "GET", "/api/health")
    assert status == 200 and data["time_limit"] == LIMIT
    assert data["pdflatex"] == (shutil.which("pdflatex") is not None)
    assert data["max_formula"] == MAX_FORMULA and data["max_body"] == MAX_BODY


# -- the endpoints ------------------------------------------------------------------------------
def test_parse_reads_the_formula_and_each_variable_with_its_shape(server) -> None:
    status, data = post(server, "parse", formula="x'*A*x")
    assert status == 200
    assert (data["syntax"], data["latex"], data["text"]) == (
        "matlab", r"\mathbf{x}^\top A \mathbf{x}", "xᵀ A x",
    )  # fmt: skip
    assert data["scalar"] and data["shape"] == "scalar"
    x, A = data["variables"]
    assert (x["name"], x["kind"], x["shape"], x["sizes"], x["latex"]) == (
        "x", "vector", "n", "n", r"\mathbf{x}",
    )  # fmt: skip
    assert (A["kind"], A["shape"], A["declared"]) == ("matrix", "n×n", False)
    assert "capital letter" in A["why"]
    status, data = post(server, "parse", formula="x'*S*x", shapes={"S": "n,n,symmetric"})
    S = data["variables"][1]
    assert status == 200 and S["properties"] == ["symmetric"] and S["declared"] and not S["why"]
    status, data = post(server, "parse", formula=r"\frac{1}{2}\|W \mathbf{x} - \mathbf{y}\|^2")
    assert status == 200 and data["syntax"] == "latex"
    assert [v["shape"] for v in data["variables"]] == ["m×n", "n", "m"]


def test_a_parse_error_carries_its_position_for_the_caret(server) -> None:
    status, data = post(server, "parse", formula="tr(X*X)")
    error = data["error"]
    assert status == 422 and error["kind"] == "parse" and error["field"] == "formula"
    assert (error["position"], error["line"], error["column"]) == (4, "tr(X*X)", 4)
    assert "numpy syntax" in error["message"] and "MATLAB syntax" in error["message"]
    assert "--syntax" not in error["message"]  # the page has a syntax menu instead
    status, data = post(server, "parse", formula="tr(X*X)", syntax="matlab")
    assert status == 200 and data["text"] == "tr(X X)"
    status, data = post(server, "parse", formula="x +")
    assert status == 422 and "ends too early" in data["error"]["message"]
    status, data = post(server, "parse", formula="W@y", shapes={"W": "2,3", "y": "4"})
    assert status == 422 and "matmul" in data["error"]["message"]
    for spec in ("", "a,b,c", "scalar,symmetric"):
        status, data = post(server, "parse", formula="x'*A*x", shapes={"A": spec})
        assert status == 422 and data["error"]["field"] == "shapes", spec
    status, data = post(server, "parse", formula="   ")
    assert status == 422 and data["error"]["message"] == "type a formula"


def test_derive_gives_the_result_the_steps_and_their_latex(server) -> None:
    status, data = post(server, "derive", formula="x'*A*x", wrt=["x"])
    assert status == 200 and data["kind"] == "grad"
    (result,) = data["results"]
    assert result["text"] == "∂f/∂x = (A + Aᵀ) x"
    assert result["latex"] == (
        r"\frac{\partial f}{\partial \mathbf{x}} = \left(A + A^\top\right) \mathbf{x}"
    )
    assert [s["rule"] for s in data["steps"]][-2:] == ["identification", "layout"]
    assert data["steps"][0]["latex"] == "" and data["steps"][0]["text"].startswith("numerator")
    assert data["layout_words"].startswith("numerator layout")
    assert r"\begin{align*}" in data["latex_source"] and "cyclic trace" in data["steps_text"]
    lecture = post(server, "derive", formula="x'*A*x", wrt=["x"], detail="lecture")[1]
    assert len(lecture["steps"]) >= len(data["steps"])
    hessian = post(server, "derive", formula="x'*A*x", wrt=["x"], kind="hessian")[1]
    assert hessian["results"][0]["text"] == "∂²f/∂x∂xᵀ = A + Aᵀ"
    jacobian = post(server, "derive", formula="sigmoid(W@x)", wrt=["x"], layout="denominator")
    assert jacobian[1]["kind"] == "jacobian"
    assert jacobian[1]["results"][0]["text"] == "∂f/∂x = Wᵀ diag(σ′(W x))"


def test_derive_by_several_variables_and_its_errors(server) -> None:
    cost = "sum((sigmoid(W@x + b) - y)**2)/2"
    status, data = post(server, "derive", formula=cost, shapes={"b": "m"}, wrt=["W", "b"], name="C")
    assert status == 200 and [r["variable"] for r in data["results"]] == ["W", "b"]
    assert data["results"][1]["text"] == "∂C/∂b = (σ(W x + b) − y) ⊙ σ′(W x + b)"
    cases = [
        ({"wrt": []}, "wrt", "choose the variable"),
        ({"wrt": ["z"]}, "wrt", "z is not a variable of the formula (it has x, A)"),
        ({"wrt": ["x"], "name": "1f"}, "name", "must be a name"),
        ({"wrt": ["x", "A"], "kind": "hessian"}, "kind", "by one variable"),
    ]
    for fields, field, words in cases:
        status, data = post(server, "derive", formula="x'*A*x", **fields)
        assert (
            status == 422 and data["error"]["field"] == field and words in data["error"]["message"]
        )
    status, data = post(server, "derive", formula="W@x", wrt=["x"], kind="grad")
    assert status == 422 and "choose the Jacobian" in data["error"]["message"]


def test_check_judges_an_answer_and_a_proof(server) -> None:
    base = {"formula": "x'*A*x", "wrt": ["x"]}
    status, data = post(server, "check", **base, answer="A*x")
    assert status == 200 and data["mode"] == "answer" and not data["ok"]
    assert data["message"] == "a term is missing: ∂f/∂x also has Aᵀ x"
    assert data["latex"] == r"A \mathbf{x}" and data["diagnosis"]
    status, data = post(server, "check", **base, answer="(A + A')*x")
    assert status == 200 and data["ok"] and data["message"].startswith("correct")
    proof = r"\nabla_{\mathbf{x}} f &= A \mathbf{x} + A^\top \mathbf{x} \\ &= 2 A \mathbf{x}"
    status, data = post(server, "check", **base, answer=proof)
    assert status == 200 and data["mode"] == "proof" and data["first_error"] == 2
    assert data["message"].startswith("step 2 → 3 is wrong: holds only if A is symmetric")
    assert data["latex"].startswith(r"\begin{aligned}") and "✗" in data["text"]
    status, data = post(server, "check", **base, answer=proof, shapes={"A": "n,n,symmetric"})
    assert status == 200 and data["ok"]
    status, data = post(server, "check", **base, answer="A*x +")
    assert status == 422 and data["error"]["field"] == "answer" and "position" in data["error"]
    status, data = post(server, "check", **base, answer="")
    assert status == 422 and data["error"]["field"] == "answer"


def test_code_is_a_numpy_script_with_its_gradient_check(server) -> None:
    status, data = post(server, "code", formula="x'*A*x", wrt=["x"])
    assert status == 200 and data["variable"] == "x"
    ast.parse(data["code"])  # Python, never run here
    assert "def check_gradient" in data["code"] and "ARGUMENT_NAMES = ('A', 'x', )" in data["code"]
    status, data = post(server, "code", formula="W@x", wrt=["x"])
    assert status == 422 and "scalar" in data["error"]["message"]


def test_pdf_is_the_derivation_compiled(server) -> None:
    status, response, data = request(
        server, "POST", "/api/pdf",
        json.dumps({"formula": "x'*A*x", "wrt": ["x"]}).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    if shutil.which("pdflatex") is None:
        assert status == 501 and data["error"]["kind"] == "no_pdflatex"
        return
    assert status == 200 and response.getheader("Content-Type") == "application/pdf"
    assert data.startswith(b"%PDF") and "attachment" in response.getheader("Content-Disposition")


# -- bad requests and limits --------------------------------------------------------------------
def test_malformed_requests_are_refused_with_their_status(server) -> None:
    json_type = {"Content-Type": "application/json"}
    cases = [
        (b"{", json_type, 400, "not JSON"),
        (b"[1, 2]", json_type, 400, "not a JSON object"),
        (b"\xff\xfe", json_type, 400, "not JSON"),
        (b'{"formula": 3}', json_type, 400, "formula must be a str"),
        (b'{"formula": "x", "eval": "1"}', json_type, 400, "unknown field"),
        (b'{"formula": "x", "syntax": "python"}', json_type, 400, "syntax must be one of"),
        (b'{"formula": "x", "shapes": {"x": 3}}', json_type, 400, "shapes maps"),
        (b'{"formula": "x", "wrt": [1]}', json_type, 400, "wrt is a list"),
        (b'{"formula": "x"}', {"Content-Type": "text/plain"}, 415, "application/json"),
    ]
    for body, headers, code, words in cases:
        status, _, data = request(server, "POST", "/api/parse", body, headers)
        assert status == code and words in data["error"]["message"], body
    status, _, data = request(server, "POST", "/api/nothing", b"{}", json_type)
    assert status == 404
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest("POST", "/api/parse")
    connection.putheader("Content-Type", "application/json")
    connection.endheaders()  # no Content-Length, no body
    response = connection.getresponse()
    assert response.status == 411
    connection.close()


def test_size_limits_answer_413(server) -> None:
    status, data = post(server, "parse", formula="x+" * (MAX_FORMULA // 2) + "x")
    assert status == 413 and data["error"] == {
        "kind": "too_large", "message": f"formula is longer than {MAX_FORMULA} characters",
        "field": "formula",
    }  # fmt: skip
    status, data = post(server, "check", formula="x'*x", wrt=["x"], answer="x" * (MAX_ANSWER + 1))
    assert status == 413 and data["error"]["field"] == "answer"
    big = json.dumps({"formula": "x", "answer": "y" * MAX_BODY}).encode()
    status, _, data = request(
        server, "POST", "/api/parse", big, {"Content-Type": "application/json"}
    )
    assert status == 413 and data["error"]["kind"] == "too_large"
    assert healthy(server)


def test_a_pathological_formula_is_stopped_at_the_time_limit_and_the_server_goes_on(
    server,
) -> None:
    started = time.monotonic()
    status, data = post(server, "derive", formula=PATHOLOGICAL, wrt=["x"])
    elapsed = time.monotonic() - started
    assert status == 504 and data["error"]["kind"] == "timeout"
    assert "longer than the time limit (2 s)" in data["error"]["message"]
    assert LIMIT <= elapsed < LIMIT + 1.5
    # both workers stuck at once: each is killed and replaced
    with ThreadPoolExecutor(2) as pool:
        stuck = list(
            pool.map(lambda _: post(server, "derive", formula=PATHOLOGICAL, wrt=["x"]), range(2))
        )
    assert [status for status, _ in stuck] == [504, 504]
    assert healthy(server)
    status, data = post(server, "derive", formula="x'*A*x", wrt=["x"])
    assert status == 200 and data["results"][0]["text"] == "∂f/∂x = (A + Aᵀ) x"


def test_a_computation_the_client_abandons_frees_its_worker(server) -> None:
    """Typing aborts the page's older requests: their workers go to the newer ones."""
    body = json.dumps({"formula": PATHOLOGICAL, "wrt": ["x"]}).encode()
    head = (
        "POST /api/derive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    clients = [socket.create_connection(server.server_address[:2]) for _ in range(2)]
    for client in clients:  # both workers busy for 20 s
        client.sendall(head.encode() + body)
    time.sleep(0.3)
    started = time.monotonic()
    for client in clients:
        client.close()
    status, data = post(server, "parse", formula="x'*x")
    assert status == 200 and time.monotonic() - started < LIMIT - 0.5


def test_twenty_concurrent_requests_are_all_answered(server) -> None:
    jobs = [
        ("derive", {"formula": f"x'*A*x + {k}*x'*x", "wrt": ["x"]}, f"(A + Aᵀ) x + {2 * k} x")
        for k in range(2, 9)
    ]
    jobs += [("parse", {"formula": f"sum(W{k}@x)"}, f"sum(W{k} x)") for k in range(7)]
    jobs += [
        ("check", {"formula": "x'*A*x", "wrt": ["x"], "answer": "A*x"}, "a term is missing")
    ] * 6
    assert len(jobs) == 20

    def one(job):
        endpoint, fields, expected = job
        status, data = post(server, endpoint, **fields)
        if status != 200:
            return status, str(data), expected
        key = {"derive": lambda d: d["results"][0]["text"], "parse": lambda d: d["text"]}
        return status, key.get(endpoint, lambda d: d["message"])(data), expected

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, jobs))
    for status, shown, expected in answers:
        assert status == 200 and expected in shown


HOSTILE = [
    "__import__('os').system('touch PWNED')",
    "open('/etc/passwd').read()",
    "x.__class__.__bases__[0].__subclasses__()",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "exec('1')",
    "globals()['__builtins__']",
    "x\x00y",
    "\x1b[2J x",
    r"\input{/etc/passwd}",
    r"\def\x{\x}\x",
    r"\write18{touch PWNED}",
    r"\mathbf{<script>}",
    "(" * 3000 + "x" + ")" * 3000,
    "x" + "+x" * 4000,
    "{" * 2000,
    "9" * 5000 + "*x",
    "x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x**x",
    "A^999999999",
]


@pytest.mark.parametrize("formula", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_refused_never_run(server, tmp_path, formula) -> None:
    for endpoint in ("parse", "derive", "code"):
        status, data = post(server, endpoint, formula=formula, wrt=["x"])
        assert status in (200, 422, 504), (endpoint, data)
        if status != 200:
            assert data["error"]["message"] and data["error"]["kind"] in (
                "parse",
                "shape",
                "math",
                "timeout",
            )
    assert not (ROOT / "PWNED").exists() and not Path("PWNED").exists()
    assert healthy(server)


def test_requests_from_other_sites_are_refused(server) -> None:
    """DNS rebinding (a foreign Host) and another site's page (a foreign Origin)."""
    status, _, data = request(server, "GET", "/", headers={"Host": "evil.example"})
    assert status == 403 and data["error"]["kind"] == "forbidden"
    body = json.dumps({"formula": "x"}).encode()
    headers = {"Content-Type": "application/json", "Origin": "http://evil.example"}
    assert request(server, "POST", "/api/parse", body, headers)[0] == 403
    host, port = server.server_address[:2]
    headers["Origin"] = f"http://{host}:{port}"
    assert request(server, "POST", "/api/parse", body, headers)[0] == 200


def test_a_worker_that_dies_is_replaced(server) -> None:
    workers = list(server.workers._all)
    for worker in workers:
        os.kill(worker.process.pid, signal.SIGKILL)
    for worker in workers:
        worker.process.join(5)
    # a worker found dead is replaced before it is given a request
    assert [post(server, "parse", formula="x'*x")[0] for _ in range(3)] == [200] * 3
    deadline = time.monotonic() + 10
    while len(server.workers._all) != server.workers.count:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert not set(workers) & server.workers._all


# -- the command --------------------------------------------------------------------------------
def test_loopback_and_the_loud_warning() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.3.2.1"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.2", "example.org", "::"]))
    assert "WARNING" in warning("0.0.0.0") and "NOT this machine alone" in warning("0.0.0.0")


def test_matcalc_serve_starts_answers_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "matcalc", "serve", "--port", "0", "--time-limit", "3"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = process.stderr.readline()
        found = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        connection = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=30)
        connection.request("GET", "/api/health")
        assert json.loads(connection.getresponse().read())["time_limit"] == 3
        connection.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
