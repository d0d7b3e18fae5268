"""The admin page in a real headless Chromium, served on 127.0.0.1 with a real
Redis: sign in, search an order, replay a failed job.

Chromium comes from Debian's package, which ./test installs with apt-get; Playwright
only drives it and downloads no browser of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry

from sandbox.server import RunningServer, serve_in_thread
from webhook import create_app
from workers.queueing import ORDER_QUEUE

CHROMIUM = Path("/usr/bin/chromium")
# Flags that turn off Chromium's own background connections (updates, sync, QUIC).
# The test also aborts every request that is not for the app on 127.0.0.1.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPOSITORY = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "test-admin-password-5d21"
SKIP_REASON = "status 7 awaiting_payment is not enabled"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000
# True when no content is wider than its box: not the page, not a table's
# scrolling wrapper, not a cell. On a phone the tables stack into one column, so
# nothing there should need sideways scrolling.
FITS_WIDTH = """() => {
    const boxes = [...document.querySelectorAll("html, .table-scroll, td, dd")];
    return boxes.every((box) => box.scrollWidth <= box.clientWidth + 1);
}"""


def screenshot_dir() -> Path:
    """Return $SCREENSHOT_DIR, by default var/screenshots/ in the repository."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or REPOSITORY / "var/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def load_playwright() -> Any:
    """Return Playwright's sync entry point, or fail saying how to get Chromium.

    It runs inside the test, not in a fixture, so a missing browser counts as a
    failed test rather than a setup error.
    """
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1 is set")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run ./test, which installs Debian's chromium "
            "package with apt-get, or set SKIP_BROWSER_TESTS=1 to skip the browser "
            "tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the playwright package is missing: run ./test, which installs the "
            "test dependencies"
        )
    return sync_playwright


@pytest.fixture
def admin_server(order_path, monkeypatch) -> Iterator[RunningServer]:
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    with serve_in_thread(create_app(context=order_path.context)) as server:
        yield server


def failed_order_jobs(order_path) -> list[str]:
    return FailedJobRegistry(ORDER_QUEUE, connection=order_path.redis).get_job_ids()


def test_admin_search_and_replay(admin_server, order_path, tmp_path):
    sync_playwright = load_playwright()
    order_path.add_order(103, status_id=7)
    order_path.send("store/order/created", 103)
    order_path.hub.reject_order(105, 400, "bad data")
    order_path.add_order(105)
    order_path.send("store/order/created", 105)
    order_path.run_jobs()
    (job_id,) = failed_order_jobs(order_path)
    folder = screenshot_dir()
    shots = {
        "overview": folder / "admin-overview-desktop.png",
        "search": folder / "admin-order-search-phone.png",
        "failed": folder / "admin-failed-job-phone.png",
        "replayed": folder / "admin-replayed-phone.png",
    }
    for shot in shots.values():
        shot.unlink(missing_ok=True)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport=DESKTOP,
            http_credentials={
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "origin": admin_server.url,
            },
        )
        blocked: list[str] = []

        def loopback_only(route: Any) -> None:
            if route.request.url.startswith(f"{admin_server.url}/"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        try:
            context.route("**/*", loopback_only)
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(TIMEOUT_MS)

            page.goto(f"{admin_server.url}/admin/")
            page.get_by_role("heading", name="Connection main-store").wait_for()
            page.screenshot(path=str(shots["overview"]), full_page=True)

            page.set_viewport_size(PHONE)
            page.get_by_label("Order id").fill("103")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url("**/admin/decisions?order_id=103*")
            page.get_by_role("heading", name="Order 103 of main-store").wait_for()
            reason = page.locator("ul.reasons li", has_text=SKIP_REASON).first
            reason.wait_for()
            assert reason.is_visible()
            assert page.evaluate(FITS_WIDTH), "the search result overflows a phone"
            page.screenshot(path=str(shots["search"]), full_page=True)

            page.get_by_role("link", name="Status").click()
            row = page.locator("table.failed tr", has_text=job_id)
            row.wait_for()
            assert "bad data" in row.inner_text()
            assert page.evaluate(FITS_WIDTH), "the overview overflows a phone"
            page.screenshot(path=str(shots["failed"]), full_page=True)

            row.get_by_role("button", name=f"Replay job {job_id}").click()
            page.wait_for_url("**/admin/?replayed=*")
            page.get_by_text(f"Job {job_id} is back in the orders queue").wait_for()
            page.get_by_text("No failed jobs.").wait_for()
            assert page.locator("table.failed tr", has_text=job_id).count() == 0
            page.screenshot(path=str(shots["replayed"]), full_page=True)
        finally:
            context.close()

    queued = Queue(ORDER_QUEUE, connection=order_path.redis).get_job_ids()
    assert blocked == [], "the page requested URLs outside the app"
    assert failed_order_jobs(order_path) == []
    assert queued == [job_id]
    for name, shot in shots.items():
        assert shot.is_file(), f"screenshot {name} was not saved to {shot}"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is no PNG"
