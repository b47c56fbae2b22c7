"""The page of `matcalc serve` in a real browser: headless Chromium (Debian's
package, /usr/bin/chromium) driven by Playwright for Python, which never downloads
a browser of its own here.

Each test saves a screenshot under out/ (MATCALC_SCREENSHOT_DOCS=1 also refreshes
docs/web.png, the README's).  These tests fail, not skip, without Chromium or
Playwright: .ci/run installs both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from matcalc.server import Server

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by the browser fixture as a failure
    sync_playwright = None

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
CHROMIUM = os.environ.get("MATCALC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
TEX = "annotation[encoding='application/x-tex']"  # KaTeX's MathML keeps the TeX source
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def server():
    with Server("127.0.0.1", 0, time_limit=2, quiet=True).start() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        pytest.fail("Playwright is not installed: pip install playwright (the test extra has it)")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the server; it must raise no script error, open no dialog (an
    alert() would be markup run) and fetch nothing from anywhere else."""
    context = browser.new_context(viewport={"width": 1100, "height": 1300})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    opened.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    opened.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((server.url, "blob:", "data:"))
            else problems.append(f"fetched {request.url}")
        ),
    )
    yield opened
    context.close()
    assert not problems


def shot(page, name: str) -> None:
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def derive_x_a_x(page, server) -> None:
    page.goto(server.url)
    page.locator("#formula").fill("x'*A*x")
    page.locator("input[data-wrt='x']").check()
    expect(page.locator(f"#result {TEX}")).to_have_text(
        r"\frac{\partial f}{\partial \mathbf{x}} = \left(A + A^\top\right) \mathbf{x}"
    )


def test_typing_x_a_x_and_choosing_x_typesets_a_plus_a_transpose_x(page, server) -> None:
    derive_x_a_x(page, server)
    # the formula as read, live, and each variable with its inferred shape
    expect(page.locator(f"#parsed {TEX}")).to_have_text(r"f = \mathbf{x}^\top A \mathbf{x}")
    expect(page.locator("#read-as")).to_contain_text("MATLAB-like")
    rows = page.locator("#variables tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("vector, n")
    expect(rows.nth(1)).to_contain_text("matrix, n×n")
    # KaTeX drew it: (A + A⊤) x in its own fonts, and the steps below
    shown = page.locator("#result .katex-html").inner_text()
    assert "A+A" in shown.replace(" ", "").replace("\n", "") and "⊤" in shown
    rules = ["layout", "definition", "differential", "cyclic trace", "identification", "layout"]
    expect(page.locator("#steps td.rule")).to_have_text(rules)
    expect(page.locator(f"#steps {TEX}").last).to_have_text(
        r"\displaystyle \frac{\partial f}{\partial \mathbf{x}} = \left(A + A^\top\right) \mathbf{x}"
    )
    expect(page.locator("#latex-source")).to_contain_text(r"\begin{align*}")
    expect(page.locator("#code")).to_contain_text("def check_gradient")
    # a symmetric A: the gradient becomes 2 A x
    page.locator("input[data-symmetric='A']").check()
    expect(page.locator(f"#result {TEX}")).to_contain_text(r"= 2 A \mathbf{x}")
    page.locator("input[data-symmetric='A']").uncheck()
    expect(page.locator(f"#result {TEX}")).to_contain_text(r"\left(A + A^\top\right)")
    shot(page, "web_derivative")
    # the permalink holds the input: a new page from it shows the same result
    link = page.locator("#permalink").get_attribute("href")
    assert link and "wrt=x" in link
    page.goto(server.url + link)
    expect(page.locator(f"#result {TEX}")).to_contain_text(r"\left(A + A^\top\right) \mathbf{x}")


def test_a_wrong_answer_is_diagnosed_and_a_right_one_accepted(page, server) -> None:
    derive_x_a_x(page, server)
    page.locator("#answer").fill("A*x")
    page.locator("#check-button").click()
    expect(page.locator("#verdict")).to_have_class("wrong")
    expect(page.locator("#verdict")).to_contain_text("a term is missing: ∂f/∂x also has Aᵀ x")
    expect(page.locator(f"#verdict-math {TEX}")).to_contain_text(r"A \mathbf{x}")
    shot(page, "web_check")
    if os.environ.get("MATCALC_SCREENSHOT_DOCS"):  # the README's: the formula to the verdict
        bottom = page.evaluate(
            "() => document.querySelector('#check-section').getBoundingClientRect().bottom"
            " + window.scrollY"
        )
        end = {"x": 0, "y": 0, "width": 1100, "height": bottom + 12}
        page.screenshot(path=str(ROOT / "docs" / "web.png"), full_page=True, clip=end)
    # a proof, step by step, with the wrong step named
    page.locator("#answer").fill(
        r"\nabla_{\mathbf{x}} f &= A \mathbf{x} + A^\top \mathbf{x} \\ &= 2 A \mathbf{x}"
    )
    page.locator("#check-button").click()
    expect(page.locator("#verdict")).to_contain_text(
        "step 2 → 3 is wrong: holds only if A is symmetric"
    )
    page.locator("#answer").fill("(A + A')*x")
    page.locator("#answer").press("Control+Enter")
    expect(page.locator("#verdict")).to_have_class("ok")
    expect(page.locator("#verdict")).to_contain_text("correct")


def test_hostile_input_is_shown_not_run_and_the_server_keeps_answering(page, server) -> None:
    page.goto(server.url)
    scripts = page.locator("script").count()
    page.locator("#formula").fill("<img src=x onerror=alert(1)>")
    error = page.locator("#formula-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("<img src=x onerror=alert(1)>")  # as text, with a caret
    assert page.locator("#formula-error img").count() == 0
    page.locator("#syntax").select_option("latex")
    page.locator("#formula").fill(r"\mathbf{<script>alert(2)</script>}")
    expect(error).to_contain_text("<script>alert(2)</script>")
    assert page.locator("script").count() == scripts
    page.locator("#syntax").select_option("auto")
    # a formula that would take half a minute: stopped at the time limit, said so
    page.locator("#formula").fill("sum((x+1)**200 * (x-2)**200)")
    page.locator("input[data-wrt='x']").check()
    expect(page.locator("#derive-error")).to_contain_text("longer than the time limit (2 s)")
    shot(page, "web_hostile")
    assert page.request.get(server.url + "api/health").json()["ok"]
    page.locator("#formula").fill("x'*A*x")
    page.locator("input[data-wrt='x']").check()
    expect(page.locator(f"#result {TEX}")).to_contain_text(r"\left(A + A^\top\right) \mathbf{x}")
