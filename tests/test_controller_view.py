"""The live view in headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by
selenium from PyPI): the page loads from the running controller (P4Runtime test double), shows
every service path and PE, and when a PE dies the page changes by itself — the IDS path moves
to the other instance and the PE shows as down."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controller_harness import ACME, ADMIN, running_controller
from p4rt_testserver import P4RuntimeTestServer

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (PyPI) is not installed")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMEDRIVER is None or shutil.which("chromium") is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service as ChromeService

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.binary_location = str(shutil.which("chromium"))
    driver = webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, script: str, timeout: float = 15.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.execute_script(script)
    )


# what the page shows: the PEs of each service path row, and each PE's state
PES = "[...document.querySelectorAll('#paths tbody tr')].map(r => r.dataset.pes)"
HEALTH = (
    "Object.fromEntries([...document.querySelectorAll('#health tbody tr')]"
    ".map(r => [r.dataset.pe, r.dataset.up]))"
)


def test_the_page_follows_a_pe_failure(browser: Any, tmp_path: Path) -> None:
    with (
        P4RuntimeTestServer() as a,
        P4RuntimeTestServer() as b,
        running_controller((a, b), tmp_path / "c.db", misses=1) as rc,
    ):
        host, port = rc.server.server_address[:2]
        browser.get(f"http://{host}:{port}/#token={ADMIN}")
        pes = _wait(browser, f"return {PES}.some(x => x.includes('ids1')) && {PES}")
        assert any("ids1" in p for p in pes) and any("ids2" in p for p in pes)
        assert _wait(browser, f"return {HEALTH}.ids1 && {HEALTH}")["ids1"] == "true"
        assert browser.find_element("id", "err").text == ""
        svg_paths = browser.execute_script(
            "return document.querySelectorAll('#topo polyline').length"
        )
        assert svg_paths >= 1

        rc.down.add("wp_s2.sock")  # ids1's waypoint stops answering
        assert rc.service.poll_health() is not None
        health = _wait(browser, f"return {HEALTH}.ids1 === 'false' && {HEALTH}")
        assert health["ids1"] == "false" and health["ids2"] == "true"
        pes = browser.execute_script(f"return {PES}")
        assert not any("ids1" in p for p in pes) and any("ids2" in p for p in pes)
        assert "failed PEs: ids1" in browser.find_element("id", "status").text


def test_a_tenant_sees_its_own_paths_only(browser: Any, tmp_path: Path) -> None:
    with (
        P4RuntimeTestServer() as a,
        P4RuntimeTestServer() as b,
        running_controller((a, b), tmp_path / "c.db") as rc,
    ):
        host, port = rc.server.server_address[:2]
        browser.get(f"http://{host}:{port}/#token={ACME}")
        _wait(browser, "return document.body.dataset.refreshed")
        rows = browser.execute_script(
            "return [...document.querySelectorAll('#counters tbody tr')]"
            ".map(r => r.cells[0].textContent)"
        )
        assert rows and set(rows) == {"s1"}
        browser.get(f"http://{host}:{port}/#token=wrong-token-0123456789")
        browser.refresh()
        _wait(browser, "return document.getElementById('err').textContent.includes('401')")
