"""End-to-end test in headless Chromium: demo -> short training -> Results (heatmap + network view).

Starts ``streamlit run app.py`` on a free local port with a temporary
``DASH_STUDIO_HOME`` and drives it with Playwright (system Chromium, no
``playwright install``). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    if sync_playwright is None:
        pytest.skip("Python playwright is not installed (pip install playwright); browser test skipped.")
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium); browser test skipped.")
    port = _free_port()
    env = dict(os.environ, DASH_STUDIO_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")
    env.pop("DASH_STUDIO_WORKSPACE", None)  # a shared server: one workspace per visitor
    log = open(tmp_path / "streamlit.log", "wb")  # closed in the finally block
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() - t0 > 90:
                log.flush()
                raise AssertionError("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _shot(page, name: str, locator=None) -> None:
    """Viewport screenshot (or of one element), with the mouse parked so that no tooltip covers the page."""
    page.mouse.move(1270, 790)
    page.wait_for_timeout(300)
    if locator is not None:
        locator.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        locator.screenshot(path=str(ARTIFACTS / name))
    else:
        page.screenshot(path=str(ARTIFACTS / name))


def _no_traceback(page) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body and "StreamlitAPIException" not in body


def test_demo_training_results_in_browser(server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        try:
            main = page.get_by_test_id("stMainBlockContainer")
            page.goto(server)
            expect(main.get_by_role("heading", name="DASH Studio")).to_be_visible(timeout=90_000)
            page.get_by_role("button", name="Load demo dataset").click()
            expect(main.get_by_text("Active dataset: demo")).to_be_visible()
            expect(page.get_by_test_id("stSidebar").get_by_text("48 genes")).to_be_visible()
            _shot(page, "01_home_demo.png")
            _no_traceback(page)

            page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
            expect(main.get_by_role("heading", name="Active dataset")).to_be_visible()
            page.get_by_text("Orientation preview of").scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            _shot(page, "02_data_networks.png")
            traj = page.locator(".js-plotly-plot").first
            expect(traj).to_be_visible()
            _shot(page, "02_data_trajectories.png", traj)
            _no_traceback(page)

            page.get_by_test_id("stSidebarNav").get_by_text("Train & prune").click()
            expect(main.get_by_role("heading", name="Train & prune")).to_be_visible(timeout=120_000)
            for label, value in (("Max epochs", "3"), ("Hidden units per branch", "8")):
                box = page.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Enter")
                page.wait_for_timeout(400)
            page.get_by_role("button", name="Launch", exact=True).click()
            expect(main.get_by_role("button", name="Open in Results")).to_be_visible(timeout=180_000)
            _shot(page, "03_train_done.png")
            curves = page.locator(".js-plotly-plot").last
            _shot(page, "03_train_curves.png", curves)
            _no_traceback(page)

            page.get_by_role("button", name="Open in Results").click()
            expect(main.get_by_role("heading", name="Results")).to_be_visible()
            heat = page.locator(".js-plotly-plot .heatmaplayer, .js-plotly-plot .hm").first
            expect(heat).to_be_attached(timeout=60_000)
            expect(main.get_by_text("Ground truth").first).to_be_visible()
            page.wait_for_timeout(800)
            _shot(page, "04_results_top.png")
            _shot(page, "04_results_heatmaps.png", page.locator(".js-plotly-plot").first)
            _no_traceback(page)

            page.get_by_role("tab", name="Network view").click()
            frame = page.frame_locator("iframe").first
            expect(frame.locator("canvas").first).to_be_visible(timeout=60_000)
            expect(frame.locator("#dash-legend")).to_contain_text("activation")
            page.wait_for_timeout(2500)  # let the force layout settle for the screenshot
            _shot(page, "05_results_network.png", page.locator("iframe").first)

            page.get_by_role("tab", name="Fitted trajectories").click()
            page.wait_for_timeout(1000)
            fit = page.locator(".js-plotly-plot").filter(has_text="model").first
            _shot(page, "06_results_trajectories.png", fit)

            page.get_by_role("tab", name="Edge table").click()
            expect(main.get_by_text("Top regulators")).to_be_visible()
            page.wait_for_timeout(800)
            _shot(page, "06_results_edge_table.png")

            for name, shot in (("λ explorer", "07_lambda.png"), ("Compare runs", "08_compare.png"),
                               ("Learn", "09_learn.png"), ("Pathways", "12_pathways.png"),
                               ("Signaling", "13_signaling.png"), ("Train & prune", "14_train_top.png"),
                               ("Data", "15_data_top.png"), ("Home", "16_home_runs.png")):
                page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
                heading = {"Home": "DASH Studio", "Data": "Data"}.get(name, name.split(" ")[0])
                expect(main.get_by_role("heading", name=heading, exact=False).first).to_be_visible()
                page.wait_for_timeout(1500)
                _shot(page, shot)
                plots = page.locator(".js-plotly-plot")
                if name in ("λ explorer", "Compare runs") and plots.count():
                    _shot(page, shot.replace(".png", "_plot.png"), plots.first)
                _no_traceback(page)

            # λ explorer: clicking a point of the sparsity-accuracy plane opens that run in Results
            page.get_by_test_id("stSidebarNav").get_by_text("λ explorer", exact=True).click()
            point = page.locator(".js-plotly-plot .scatterlayer .point").first
            expect(point).to_be_visible()
            point.click(force=True)
            expect(main.get_by_role("heading", name="Results")).to_be_visible(timeout=30_000)
            _no_traceback(page)
        finally:
            browser.close()


def test_two_visitors_see_only_their_own_workspace(server):
    """A's runs, files and Cancel are invisible to B; made-up links open nothing; A's job survives a reload."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        try:
            a = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            b = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            for p in (a, b):
                p.set_default_timeout(60_000)
            main_a, side_a = a.get_by_test_id("stMainBlockContainer"), a.get_by_test_id("stSidebar")
            a.goto(server)
            expect(main_a.get_by_role("heading", name="DASH Studio")).to_be_visible(timeout=90_000)
            a.get_by_role("button", name="Load demo dataset").click()
            expect(main_a.get_by_text("Active dataset: demo")).to_be_visible()
            a.get_by_test_id("stSidebarNav").get_by_text("Train & prune").click()
            expect(main_a.get_by_role("heading", name="Train & prune")).to_be_visible(timeout=120_000)
            # a job that is still running when A comes back after B's visit (cancelled at the end): the demo trains
            # fast, so neither the epoch limit nor early stopping may end it first
            for label, value in (("Max epochs", "5000"), ("Early-stopping patience", "0")):
                box = a.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Enter")
                a.wait_for_timeout(500)
            expect(main_a.get_by_text("Expected run time")).to_be_visible()
            a.get_by_role("button", name="Launch", exact=True).click()
            expect(main_a.get_by_role("button", name="Cancel").first).to_be_visible(timeout=60_000)
            expect(main_a.get_by_role("button", name="Launch", exact=True)).to_be_disabled()  # same job running
            _shot(a, "10_a_job_running.png")
            side_a.get_by_role("button").filter(has_text="seed 0").first.click()  # opens the job panel (?job=)
            expect(main_a.get_by_role("button", name="Close")).to_be_visible()
            a.wait_for_timeout(500)
            url_a = a.url
            assert "ws=" in url_a

            # B: a fresh visitor sees nothing of A
            main_b, side_b = b.get_by_test_id("stMainBlockContainer"), b.get_by_test_id("stSidebar")
            b.goto(server)
            expect(main_b.get_by_role("heading", name="DASH Studio")).to_be_visible(timeout=90_000)
            expect(side_b.get_by_text("No runs yet in this workspace")).to_be_visible()
            expect(side_b.get_by_text("None loaded")).to_be_visible()  # not A's dataset
            assert b.get_by_role("button", name="Cancel").count() == 0
            run_id = url_a.split("job=")[1].split("&")[0] if "job=" in url_a else None
            assert run_id, url_a
            b.goto(f"{server}/?job={run_id}")  # A's run id does not open A's job for B
            expect(main_b.get_by_role("heading", name="DASH Studio")).to_be_visible()
            b.wait_for_timeout(1500)
            assert b.get_by_role("button", name="Cancel").count() == 0 and "48 genes" not in side_b.inner_text()
            for name in ("Results", "Compare runs", "λ explorer"):
                b.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
                b.wait_for_timeout(1500)
                assert b.get_by_role("button", name="Cancel").count() == 0
                _no_traceback(b)
            expect(main_b.get_by_text("No sweep yet")).to_be_visible()
            # a made-up workspace link opens nothing
            b.goto(f"{server}/?ws=" + "A" * 32)
            expect(main_b.get_by_text("does not match any workspace")).to_be_visible(timeout=30_000)
            expect(side_b.get_by_text("No runs yet in this workspace")).to_be_visible()
            assert "A" * 32 not in b.url
            _shot(b, "11_b_isolated.png")

            # A reloads: the job is still listed and its panel (with Cancel) opens from the sidebar
            a.goto(server + "/?ws=" + url_a.split("ws=")[1].split("&")[0])  # the bookmark, without the job
            expect(main_a.get_by_role("heading", name="DASH Studio")).to_be_visible(timeout=90_000)
            assert main_a.get_by_role("button", name="Cancel").count() == 0
            job = side_a.get_by_role("button").filter(has_text="seed 0").first
            expect(job).to_be_visible()
            job.click()
            cancel = main_a.get_by_role("button", name="Cancel").first
            expect(cancel).to_be_visible()
            cancel.click()
            expect(main_a.get_by_text("cancelled").first).to_be_visible(timeout=60_000)
            _no_traceback(a)
        finally:
            browser.close()
