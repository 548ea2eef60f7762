"""The web page in a real browser (Playwright driving Debian's Chromium): upload → result shown.

Skipped when Chromium or Playwright is missing; `make tools` installs Chromium (Debian `chromium`). With
HIPBMD_SCREENSHOT=path the result page is also saved there (the README's picture).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make tools)"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
playwright = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_upload_in_a_browser_shows_the_result(dx: Path, tmp_path: Path) -> None:
    from hipbmd import api

    port, servers = _free_port(), []
    thread = threading.Thread(
        target=api.serve_web,
        args=(tmp_path / "web", port),
        kwargs={"samples": 2, "on_server": servers.append},
        daemon=True,
    )
    thread.start()
    end = time.monotonic() + 120
    while not (servers and servers[0].started) and time.monotonic() < end:
        time.sleep(0.2)
    server: Any = servers[0]
    try:
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 1300})
            page.goto(f"http://127.0.0.1:{port}/")
            page.set_input_files("#radiograph", str(dx))
            page.click("#estimate")
            page.wait_for_selector("#numbers", timeout=120_000)
            assert "g/cm2" in page.inner_text("#numbers")
            assert page.is_visible("#overlay") and "report_sr.dcm" in page.inner_text("#downloads")
            screenshot = os.environ.get("HIPBMD_SCREENSHOT")
            if screenshot:
                page.screenshot(path=screenshot, full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(30)
    assert not list((tmp_path / "web" / "uploads").iterdir())
