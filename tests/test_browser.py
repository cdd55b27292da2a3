"""The teaching widget, driven in a real JupyterLab in headless Chromium.

The widget tests in test_widget_and_vignettes.py call the Python object; they cannot see
whether the notebook front end renders it and sends a click back to the kernel. Here a
JupyterLab server runs a notebook holding a free widget and a commit-first widget, and
Playwright clicks them as a student would:

- free mode: the banner starts at "No red flag found."; ticking hot_red_joint (a hot, red
  knee) turns it URGENT and redraws the differential; un-ticking it turns it back;
- commit first on a vignette: nothing shows a triage headline, a probability or the
  differential, and the findings are locked, until three causes and a triage level are
  committed; an incomplete answer is refused; the reveal shows the triage, the differential
  and the score.

The widget is found only through the CSS classes it adds (kneebayes/widget.py), listed once
below. Skipped when Chromium, Playwright or JupyterLab is missing, unless
KNEEBAYES_REQUIRE_CHROMIUM is set (as the case-report test in test_report.py). On a failure
a screenshot is saved and its path printed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# -- the widget's DOM contract (add_class names in kneebayes/widget.py)

TOGGLE = ".kb-toggle-{}"  # ToggleButtons of a finding or factor: buttons "?", "yes", "no"
BANNER = ".kb-banner"  # HTML: the triage banner
DIFFERENTIAL = "img.kb-differential"  # Image: the differential chart (empty while hidden)
NEXT = ".kb-next"  # HTML: "Ask or examine next"
NOTES = ".kb-notes"  # HTML: findings that change sides
SCORE = ".kb-score"  # HTML: the score, or why an answer was refused
VIGNETTE = ".kb-vignette select"
COMMIT_FIRST = ".kb-commit-first input[type=checkbox]"
GUESS = ".kb-guess-{} select"  # 1, 2, 3: causes, most likely first
TRIAGE_GUESS = ".kb-triage-guess select"
PROBABILITY_GUESS = ".kb-probability-guess input"
REVEAL = "button.kb-reveal"
# ipywidgets' own markup (not ours): an Accordion pane and its clickable title
ACCORDION_PANE = ".jupyter-widget-Collapse"
ACCORDION_HEADER = ".jupyter-widget-Collapse-header"

HEADLINES = ("No red flag found.", "SEE A CLINICIAN", "URGENT")
PERCENT = re.compile(r"\d\s*%")  # a probability shown as a percentage

CELLS = (
    "from kneebayes.widget import TeachingWidget\nui = TeachingWidget()\nui",
    "ui2 = TeachingWidget(commit_first=True)\nui2",
)
NOTEBOOK = "teaching.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# JupyterLab user settings: no news or update toast over the widget, every cell in the DOM
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
SERVER_START_S, KERNEL_RUN_S, STEP_MS = 60, 90, 30_000


# -- requirements


def _need(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("KNEEBAYES_REQUIRE_CHROMIUM"):
        pytest.fail(f"{what} is required here (KNEEBAYES_REQUIRE_CHROMIUM) but missing")
    pytest.skip(f"no {what} on this machine (CI installs it)")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# -- the JupyterLab server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_notebook(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, path)


def _lab_environment(home: Path) -> dict[str, str]:
    """The environment with Jupyter's per-user folders inside `home`, so that neither the
    user's settings reach the test nor the test's state (workspaces, secrets) the user."""
    for plugin, settings in LAB_SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings), encoding="utf-8")
    folders = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
               "JUPYTER_RUNTIME_DIR": "runtime", "JUPYTERLAB_SETTINGS_DIR": "settings",
               "JUPYTERLAB_WORKSPACES_DIR": "workspaces", "IPYTHONDIR": "ipython"}
    return {**os.environ, **{name: str(home / folder) for name, folder in folders.items()}}


def _lab_command(root: Path, port: int, token: str) -> list[str]:
    return [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False", "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp: to wait for the kernel and run the cells by command
            "--LabApp.expose_app_in_browser=True"]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen) -> None:
    """End the server's process group (the server and its kernels)."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue
    server.wait(5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[str]:
    """A JupyterLab server on a free port serving the test notebook; its notebook URL."""
    _need(_chromium() is not None, "chromium")
    for module in ("playwright", "jupyterlab", "jupyterlab_widgets", "nbformat"):
        _need(importlib.util.find_spec(module) is not None, module)
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    _write_notebook(root / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "server.log"
    with log.open("w", encoding="utf-8") as out:
        server = subprocess.Popen(_lab_command(root, port, token), cwd=root,
                                  env=_lab_environment(base / "home"), stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(f"{url}/api/status?token={token}", server, log)
            yield f"{url}/lab/tree/{NOTEBOOK}?token={token}"
        finally:
            _stop(server)


# -- the browser


@contextmanager
def _screenshot_on_failure(page, path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        try:
            page.screenshot(path=path, full_page=True)
            print(f"screenshot of the failure: {path}")
        except Exception as exc:  # the page may be gone; keep the original error
            print(f"no screenshot ({exc})")
        raise


def _run_all_cells(page) -> None:
    """Wait for the notebook and its kernel, then run every cell (Run > Run All Cells)."""
    page.wait_for_function(
        "path => window.jupyterapp?.shell.currentWidget?.context?.path === path",
        arg=NOTEBOOK, timeout=KERNEL_RUN_S * 1000)
    page.evaluate("""async () => {
        const app = window.jupyterapp;
        await app.shell.currentWidget.sessionContext.ready;
        await app.commands.execute("notebook:run-all-cells");
    }""")


def _wait_kernel_idle(page) -> None:
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
        " === 'idle'")


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    """The notebook open in headless Chromium, every cell run, both widgets shown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_MS)
            shot = tmp_path_factory.mktemp("shots") / "notebook.png"
            with _screenshot_on_failure(page, shot):
                page.goto(lab, timeout=KERNEL_RUN_S * 1000)
                _run_all_cells(page)
                for i in range(len(CELLS)):
                    _cell(page, i).locator(BANNER).wait_for(timeout=KERNEL_RUN_S * 1000)
            yield page
        finally:
            browser.close()


def _cell(page, index: int):
    """The notebook's `index`-th code cell (its source and its widget)."""
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index)


def _toggle(cell, finding: str, value: str):
    """The `value` button ("?", "yes", "no") of `finding`'s toggle, its pane opened."""
    toggle = cell.locator(TOGGLE.format(finding))
    if not toggle.is_visible():  # `has` is matched inside each pane: a page-level locator
        pane = cell.locator(ACCORDION_PANE).filter(has=cell.page.locator(TOGGLE.format(finding)))
        pane.locator(ACCORDION_HEADER).click()
    button = toggle.locator("button").filter(has_text=re.compile(rf"^{re.escape(value)}$"))
    button.wait_for(state="visible")
    return button


def _src(image) -> str:
    return image.get_attribute("src") or ""


def _drawn(image) -> bool:
    """Whether the image shows a picture (an empty value still gets a blob URL, of nothing)."""
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def _wait_redrawn(page, image, old: str) -> str:
    """Wait until the image shows a new picture (a new blob URL); its src."""
    page.wait_for_function(
        "([img, old]) => img.src && img.src !== old && img.complete && img.naturalWidth > 0",
        arg=[image.element_handle(), old])
    return _src(image)


def _shows_results(cell) -> list[str]:
    """What in the results area gives the case away: a triage headline, a percentage or
    the differential chart."""
    leaks = [f"banner says {h!r}" for h in HEADLINES if h in cell.locator(BANNER).inner_text()]
    for where in (BANNER, NEXT, NOTES, SCORE):
        text = cell.locator(where).inner_text()
        if PERCENT.search(text):
            leaks.append(f"{where} shows a percentage: {text[:200]!r}")
    if _drawn(cell.locator(DIFFERENTIAL)):
        leaks.append("the differential chart is drawn")
    return leaks


# -- the tests


def test_free_mode_banner_and_differential_follow_a_red_flag(page, tmp_path):
    from playwright.sync_api import expect

    cell = _cell(page, 0)
    banner, chart = cell.locator(BANNER), cell.locator(DIFFERENTIAL)
    with _screenshot_on_failure(page, tmp_path / "free.png"):
        expect(banner).to_contain_text("No red flag found.")
        expect(cell.locator(NEXT)).to_contain_text("Ask or examine next")
        first = _wait_redrawn(page, chart, "")

        _toggle(cell, "hot_red_joint", "yes").click()
        expect(banner).to_contain_text("URGENT")
        redrawn = _wait_redrawn(page, chart, first)

        _toggle(cell, "hot_red_joint", "?").click()
        expect(banner).to_contain_text("No red flag found.")
        expect(banner).not_to_contain_text("URGENT")
        _wait_redrawn(page, chart, redrawn)


def test_commit_first_reveals_nothing_until_the_answer_is_committed(page, tmp_path):
    from playwright.sync_api import expect

    cell = _cell(page, 1)
    banner, score = cell.locator(BANNER), cell.locator(SCORE)
    with _screenshot_on_failure(page, tmp_path / "commit_first.png"):
        locked = _toggle(cell, "hot_red_joint", "yes")
        expect(cell.locator(COMMIT_FIRST)).to_be_checked()
        cell.locator(VIGNETTE).select_option(index=1)  # a vignette, not "(choose a vignette)"
        expect(locked).to_be_disabled()  # the findings are the vignette's
        _wait_kernel_idle(page)
        assert _shows_results(cell) == []

        for i in (1, 2):  # two causes and no triage level: refused, still hidden
            cell.locator(GUESS.format(i)).select_option(index=i)
        cell.locator(REVEAL).click()
        expect(score).to_contain_text("not accepted")
        _wait_kernel_idle(page)
        assert _shows_results(cell) == []

        cell.locator(GUESS.format(3)).select_option(index=3)
        cell.locator(TRIAGE_GUESS).select_option(index=1)
        cell.locator(PROBABILITY_GUESS).fill("60")
        cell.locator(REVEAL).click()
        expect(banner).to_contain_text(re.compile("|".join(map(re.escape, HEADLINES))))
        expect(score).to_contain_text("Teaching point")
        expect(locked).to_be_enabled()
        _wait_redrawn(page, cell.locator(DIFFERENTIAL), "")
