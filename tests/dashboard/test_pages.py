import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orderstate.market import IST
from orderstate.models import FailedOrder, Order, SyncOutcome
from tests.clients import logged_in_client
from tests.factories import PASSWORD, SyncRunFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/", "/orders/", "/orders/?tab=all", "/failed/", "/trades/", "/sync/"]


def text(response):
    return response.content.decode()


@pytest.mark.parametrize("url", [*PAGES, "/orders/S-100/"])
def test_anonymous_visitor_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_expired_session_during_a_refresh_reloads_to_login(client):
    response = client.get("/orders/?tab=all", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/?next=/orders/")


def test_login_page_has_labelled_fields_and_logs_in(client, viewer):
    page = client.get("/accounts/login/")
    assert '<label for="id_username">' in text(page)
    response = client.post(
        "/accounts/login/", {"username": viewer.username, "password": PASSWORD, "next": "/orders/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/orders/"


@pytest.mark.parametrize("url", [*PAGES, "/orders/S-100/"])
def test_every_page_is_403_for_a_logged_in_user_without_view_order(tcs_sell_order, url):
    response = logged_in_client(UserFactory()).get(url)
    assert response.status_code == 403
    assert "S-100" not in text(response)


@pytest.mark.parametrize("url", [*PAGES, "/orders/S-100/"])
def test_every_page_renders_for_a_viewer(viewer_client, tcs_sell_order, url):
    response = viewer_client.get(url)
    assert response.status_code == 200
    assert "htmx.min.js" in text(response)


def test_overview_counts_active_orders_by_kind(
    viewer_client, manager, tcs_sell_order, executed_buy
):
    manager.register_buy_order("SBIN-EQ", "B-1", "600.00", 10)
    manager.register_buy_order("ITC-EQ", "B-2", "400.00", 20)
    manager.register_sell_order("INFY-EQ", "S-2", "1600.00", 12)
    manager.record_fill("S-2", 4, "1600.00")
    manager.add_failed_order("HDFC-EQ", qty=3, close="1500", reason="insufficient funds")
    body = text(viewer_client.get("/"))
    assert _tile(body, "Active sell orders") == "2"
    assert _tile(body, "Pending buys") == "2"
    assert _tile(body, "Partially filled") == "1"
    assert _tile(body, "Failed buys waiting") == "1"
    assert _tile(body, "Open positions") == "1"
    assert _tile(body, "Executed today") == "1"


def _tile(body, label):
    return re.search(rf"<dt>{label}</dt><dd[^>]*>(?:<a[^>]*>)?([^<]*)", body).group(1)


def test_overview_shows_realised_pnl_in_rupees(viewer_client, closed_trade):
    body = text(viewer_client.get("/"))
    assert '<dd class="gain">₹2,345.00</dd>' in body


def test_overview_draws_both_charts_as_inline_svg(viewer_client, closed_trade):
    body = text(viewer_client.get("/"))
    assert body.count('<svg viewBox="0 0 600 200" role="img"') == 2
    assert "<title>" in body and "Realised P&amp;L by day" in body


def test_overview_without_any_sync_is_stale(viewer_client):
    body = text(viewer_client.get("/"))
    assert 'class="card sync stale"' in body
    assert "No sync has run yet." in body


def test_overview_shows_a_recent_ok_sync_with_its_stats_in_words(viewer_client):
    SyncRunFactory(stats={"checked": 12, "executed": 2, "partially_filled": 1, "missing": 0})
    body = text(viewer_client.get("/"))
    assert 'class="card sync fresh"' in body
    assert "12 broker orders compared:" in body
    assert "<strong>2</strong> executed" in body
    assert "<strong>1</strong> partly filled" in body
    assert "partially_filled" not in body
    assert "missing" not in body


def test_overview_hides_a_sync_without_changes_behind_nothing_changed(viewer_client):
    SyncRunFactory(
        stats={"checked": 3, "executed": 0, "state_problems": 0, "state_problem_codes": {}}
    )
    body = text(viewer_client.get("/"))
    assert "3 broker orders compared: nothing changed." in body
    assert "state_problem_codes" not in body
    assert "<strong>0</strong>" not in body


def test_overview_names_problems_found_after_the_sync(viewer_client):
    codes = {"oversold": 1, "unprotected_position": 2}
    SyncRunFactory(stats={"checked": 1, "state_problems": 3, "state_problem_codes": codes})
    body = text(viewer_client.get("/"))
    assert "Problems found after the sync: 1 oversold, 2 unprotected position." in body


def test_overview_shows_an_old_sync_as_stale_with_the_reason(viewer_client, settings):
    settings.ORDERSTATE_SYNC_STALE_SECONDS = 300
    SyncRunFactory(age=timedelta(minutes=20))
    body = text(viewer_client.get("/"))
    assert 'class="card sync stale"' in body
    assert "older than 5 minutes" in body


def test_overview_shows_a_failed_sync_as_stale_with_the_error(viewer_client):
    SyncRunFactory(outcome=SyncOutcome.FAILED, error="broker said stat Not_Ok")
    body = text(viewer_client.get("/"))
    assert "The last sync failed: broker said stat Not_Ok" in body


def test_overview_lists_latest_events_with_links(viewer_client, tcs_sell_order):
    body = text(viewer_client.get("/"))
    assert 'href="/orders/S-100/"' in body
    assert "Registered" in body


def test_orders_tabs_split_active_from_closed(viewer_client, manager, tcs_sell_order, executed_buy):
    manager.register_buy_order("SBIN-EQ", "B-9", "600.00", 10)
    manager.cancel_order("B-9", reason="too late")
    active = text(viewer_client.get("/orders/?tab=active"))
    executed = text(viewer_client.get("/orders/?tab=executed"))
    closed = text(viewer_client.get("/orders/?tab=closed"))
    assert "#S-100" in active and "#B-200" not in active and "#B-9" not in active
    assert "#B-200" in executed and "#S-100" not in executed
    assert "#B-9" in closed and "#S-100" not in closed


def test_orders_search_by_symbol_or_broker_id(viewer_client, tcs_sell_order, executed_buy):
    by_symbol = text(viewer_client.get("/orders/?tab=all&q=tcs"))
    by_id = text(viewer_client.get("/orders/?tab=all&q=B-200"))
    assert "#S-100" in by_symbol and "#B-200" not in by_symbol
    assert "#B-200" in by_id and "#S-100" not in by_id


def test_orders_filter_by_side_status_and_date(
    viewer_client, manager, tcs_sell_order, executed_buy
):
    old = timezone.now() - timedelta(days=10)
    manager.register_buy_order("SBIN-EQ", "B-OLD", "600.00", 10, placed_at=old)
    sells = text(viewer_client.get("/orders/?tab=all&side=SELL"))
    executed = text(viewer_client.get("/orders/?tab=all&status=EXECUTED"))
    today = timezone.localdate().isoformat()
    recent = text(viewer_client.get(f"/orders/?tab=all&placed_from={today}"))
    assert "#S-100" in sells and "#B-200" not in sells
    assert "#B-200" in executed and "#S-100" not in executed
    assert "#B-OLD" not in recent and "#S-100" in recent


def test_orders_bad_filter_values_are_reported_not_fatal(viewer_client, tcs_sell_order):
    response = viewer_client.get(
        "/orders/?tab=nope&status=BOGUS&placed_from=yesterday&sort=drop_table&page=-3"
    )
    assert response.status_code == 200
    assert "Enter a valid date." in text(response)
    assert "#S-100" in text(response)


def test_orders_sort_by_quantity_both_ways(viewer_client, manager):
    manager.register_buy_order("SBIN-EQ", "SMALL", "600.00", 1)
    manager.register_buy_order("ITC-EQ", "LARGE", "400.00", 900)
    ascending = text(viewer_client.get("/orders/?sort=qty"))
    descending = text(viewer_client.get("/orders/?sort=-qty"))
    assert ascending.index("#SMALL") < ascending.index("#LARGE")
    assert descending.index("#LARGE") < descending.index("#SMALL")
    assert 'aria-sort="ascending"' in ascending


def test_orders_are_paginated_fifty_a_page(viewer_client, manager):
    for number in range(55):
        manager.register_buy_order("SBIN-EQ", f"P-{number:03d}", "600.00", 1)
    first = text(viewer_client.get("/orders/"))
    second = text(viewer_client.get("/orders/?page=2"))
    assert first.count('<th scope="row">') == 50
    assert second.count('<th scope="row">') == 5
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_htmx_refresh_gets_only_the_live_table(viewer_client, tcs_sell_order):
    response = viewer_client.get("/orders/?tab=active", headers={"HX-Request": "true"})
    body = text(response)
    assert body.lstrip().startswith('<div id="orders-live"')
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]
    assert 'hx-get="/orders/?tab=active"' in body
    assert "document.visibilityState === &#x27;visible&#x27;" in body or (
        "document.visibilityState === 'visible'" in body
    )


def test_order_detail_shows_fields_trade_and_timeline(viewer_client, manager, executed_buy):
    body = text(viewer_client.get("/orders/B-200/"))
    assert "INFY-EQ" in body and "₹1,510.25" in body
    assert "Trade opened" in body and "Registered" in body and "Executed" in body
    assert "INFY \u00d712 — Open" in body


def test_order_detail_timeline_names_the_user_and_source(viewer_client, staff_user, tcs_sell_order):
    from orderstate.manager import OrderStateManager

    OrderStateManager(source="admin", actor=staff_user).cancel_order("S-100", reason="wrong symbol")
    body = text(viewer_client.get("/orders/S-100/"))
    assert '<span class="actor">Asha Rao</span> via Admin' in body
    assert "wrong symbol" in body and "PENDING → CANCELLED" in body


def test_unknown_order_is_404(viewer_client):
    assert viewer_client.get("/orders/NOPE/").status_code == 404


def test_viewer_sees_no_action_buttons(viewer_client, tcs_sell_order):
    assert "Stop tracking" not in text(viewer_client.get("/orders/S-100/"))
    assert "Sync now" not in text(viewer_client.get("/sync/"))


def test_staff_sees_action_buttons(staff_client, tcs_sell_order):
    assert "/orders/S-100/cancel/" in text(staff_client.get("/orders/S-100/"))
    assert "/sync/run/" in text(staff_client.get("/sync/"))


def test_failed_page_shows_reason_retries_and_expiry(viewer_client, manager):
    manager.add_failed_order("ITC-EQ", qty=40, close="438.15", reason="insufficient funds")
    manager.add_failed_order("ITC-EQ", qty=40, close="438.15", reason="insufficient funds")
    friday_evening = datetime(2026, 10, 23, 16, 5, tzinfo=IST)
    FailedOrder.objects.update(first_failed_at=friday_evening)
    body = text(viewer_client.get("/failed/"))
    assert "insufficient funds" in body and "₹438.15" in body
    assert '<td class="num">1</td>' in body
    assert "26 Oct 2026, 09:15:00 IST" in body  # Monday's open


def test_trades_page_shows_entry_exit_pnl_and_holding(viewer_client, closed_trade):
    body = text(viewer_client.get("/trades/?show=closed"))
    assert "₹1,000.00" in body and "₹1,234.50" in body and "₹2,345.00" in body
    assert "WIPRO" in body


def test_sync_runs_page_lists_outcomes(viewer_client):
    SyncRunFactory(stats={"checked": 3, "executed": 0, "errors": 1})
    SyncRunFactory(outcome=SyncOutcome.FAILED, error="timeout talking to broker")
    body = text(viewer_client.get("/sync/"))
    assert "timeout talking to broker" in body
    assert "checked 3" in body and "errors 1" in body and "executed 0" not in body


def test_sync_runs_page_shows_the_state_problems_found_after_each_run(viewer_client):
    codes = {"stale_active_order": 1, "unprotected_position": 2}
    SyncRunFactory(stats={"checked": 3, "state_problems": 3, "state_problem_codes": codes})
    SyncRunFactory(stats={"checked": 4, "state_problems": 0, "state_problem_codes": {}})
    body = text(viewer_client.get("/sync/"))
    assert "State problems" in body
    assert "3 (stale_active_order 1, unprotected_position 2)" in body
    assert "state_problem_codes" not in body


@pytest.fixture
def many_rows(manager, closed_trade):
    """Enough rows of every kind that an N+1 would show as dozens of extra queries."""
    for number in range(60):
        order = manager.register_buy_order(f"SYM{number}", f"N-{number}", "100.00", 2)
        manager.record_fill(order.broker_order_id, 1, "100.00")
        manager.add_failed_order(f"FAIL{number}", qty=1, close="10", reason="funds")
        SyncRunFactory(stats={"checked": number})
    Order.objects.filter(broker_order_id="N-1").update(price=Decimal("101.00"))


@pytest.mark.parametrize(
    ("url", "most"),
    [
        # The latest positions check, and each page's header reads the order feed's state.
        ("/", 17),
        ("/orders/", 6),
        ("/orders/?tab=all&q=SYM1&sort=-qty", 6),
        ("/orders/N-1/", 8),
        ("/failed/", 7),
        ("/trades/?show=all", 6),
        ("/sync/", 6),
    ],
)
def test_pages_run_a_bounded_number_of_queries(
    viewer_client, many_rows, django_assert_max_num_queries, url, most
):
    with django_assert_max_num_queries(most):
        assert viewer_client.get(url).status_code == 200


def test_chart_draws_losses_below_the_zero_line():
    from dashboard.charts import bar_chart

    chart = bar_chart("P&L", "", [("a", Decimal("100")), ("b", Decimal("-50"))], str)
    gain, loss = chart.bars
    assert gain.y + gain.height == chart.zero_y
    assert loss.y == chart.zero_y and loss.negative
    assert gain.height == 2 * loss.height
