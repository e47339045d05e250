"""The dashboard in a real browser: Playwright driving Debian's Chromium.

Never downloads a browser: it uses /usr/bin/chromium (installed by `.ci/run`) and
skips when that is absent. Saves a screenshot of each main page to var/screenshots/
(untracked), or to SCREENSHOT_DIR: SCREENSHOT_DIR=tests/browser/screenshots
refreshes the committed pictures.
"""

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from orderstate.manager import OrderStateManager
from orderstate.models import SyncOutcome
from tests.factories import PASSWORD, SyncRunFactory
from tests.paths import ROOT

# Playwright's sync API runs an event loop in this thread; the ORM calls the test
# makes between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / os.environ.get("SCREENSHOT_DIR", "var/screenshots")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin"),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def fast_refresh(settings):
    settings.DASHBOARD_REFRESH_SECONDS = 1


@pytest.fixture
def portfolio(transactional_db):
    """The demo portfolio, a sync history and a failed buy, for pages worth looking at."""
    call_command("demo_data", stdout=open(os.devnull, "w"))  # noqa: SIM115
    bot = OrderStateManager(source="bot")
    bot.register_buy_order("WIPRO-EQ", "DEMO-B900", "245.10", 40, ticker="WIPRO.NS")
    bot.mark_order_executed("WIPRO", "DEMO-B900", "245.10")
    bot.register_sell_order("WIPRO-EQ", "DEMO-S900", "262.35", 40, ticker="WIPRO.NS")
    bot.mark_order_executed("WIPRO", "DEMO-S900", "262.35")
    SyncRunFactory(stats={"checked": 7, "executed": 1, "partially_filled": 1})
    SyncRunFactory(outcome=SyncOutcome.FAILED, error="broker: stat Not_Ok (session expired)")
    SyncRunFactory(stats={"checked": 7})


def log_in(page, base_url, username, password, next_path):
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{next_path}")


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_staff_watches_an_order_appear_and_cancels_it(
    browser, live_server, staff_user, portfolio, fast_refresh
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/orders/")
    shoot(page, "login")
    log_in(page, live_server.url, staff_user.username, PASSWORD, "/orders/")
    page.evaluate("window.notReloaded = true")

    OrderStateManager(source="bot").register_sell_order(
        "SBIN-EQ", "LIVE-42", "812.40", 25, ticker="SBIN.NS"
    )
    page.get_by_text("#LIVE-42").wait_for(timeout=15_000)
    assert page.evaluate("window.notReloaded") is True, "the row must arrive without a reload"
    shoot(page, "orders")

    page.get_by_role("link", name="SBIN").click()
    page.wait_for_url(f"{live_server.url}/orders/LIVE-42/")
    page.get_by_role("link", name="Stop tracking…").click()
    page.get_by_label("Reason (kept in the order's timeline)").fill("sold by hand at the broker")
    shoot(page, "confirm_cancel")
    page.get_by_role("button", name="Stop tracking").click()

    page.wait_for_url(f"{live_server.url}/orders/LIVE-42/")
    page.get_by_text("Order LIVE-42 is no longer tracked.").wait_for()
    cancelled = page.locator(".event", has_text="Cancelled")
    assert "Asha Rao" in cancelled.inner_text()
    assert "sold by hand at the broker" in cancelled.inner_text()
    shoot(page, "order_detail")


def test_main_pages_render_on_desktop_and_phone(browser, live_server, staff_user, portfolio):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, staff_user.username, PASSWORD, "/")
    for name, path in [
        ("overview", "/"),
        ("orders_all", "/orders/?tab=all"),
        ("failed", "/failed/"),
        ("trades", "/trades/?show=all"),
        ("sync_runs", "/sync/"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.locator("h1").wait_for()
        shoot(page, name)
    assert page.locator("table caption").count() == 1

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in(phone, live_server.url, staff_user.username, PASSWORD, "/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the overview scrolls sideways on a phone ({width}px)"
    shoot(phone, "overview_phone")


def test_pages_work_with_javascript_off(browser, live_server, staff_user, portfolio):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, staff_user.username, PASSWORD, "/orders/")
    page.get_by_label("Symbol or order id").fill("TCS")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"{live_server.url}/orders/?**")
    assert page.locator("tbody tr").count() == 1
    assert "#DEMO-S002" in page.locator("tbody").inner_text()
    context.close()
