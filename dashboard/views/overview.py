"""The overview: what needs attention now, in one screen."""

from django.utils import timezone

from dashboard import overview_data
from dashboard.charts import bar_chart
from dashboard.permissions import accounts_of, login_required_page
from dashboard.rendering import render_page
from dashboard.templatetags.dashboard_format import indian_number, inr
from orderstate.auth.rules import may_see
from orderstate.checks import alerts, positions

CHART_DAYS = 30


@login_required_page
def overview(request):
    now = timezone.now()
    accounts = accounts_of(request)
    pnl_today, pnl_total = overview_data.realised_pnl(now, accounts)
    context = {
        "now": now,
        "counts": overview_data.order_counts(accounts),
        "failed_waiting": overview_data.failed_waiting(accounts),
        "open_positions": overview_data.open_positions(accounts),
        "executions_today": overview_data.executions_today(now, accounts),
        "pnl_today": pnl_today,
        "pnl_total": pnl_total,
        "sync": overview_data.sync_health(now, accounts),
        "oversold": [row for row in alerts.oversold_after_sync() if may_see(accounts, row.account)],
        "position_mismatches": [
            row for row in positions.latest_mismatches() if may_see(accounts, row.account)
        ],
        "events": overview_data.latest_events(accounts),
        "pnl_chart": _pnl_chart(now, accounts),
        "status_chart": _status_chart(now, accounts),
    }
    return render_page(request, "dashboard/overview.html", "dashboard/_overview_live.html", context)


def _pnl_chart(now, accounts):
    points = [
        (day.strftime("%d %b"), total)
        for day, total in overview_data.pnl_by_day(now, CHART_DAYS, accounts)
    ]
    return bar_chart(
        "Realised P&L by day",
        f"Realised profit or loss of trades closed on each of the last {CHART_DAYS} days, "
        "in rupees; losses are drawn below the line.",
        points,
        inr,
        label_every=5,
    )


def _status_chart(now, accounts):
    return bar_chart(
        "Orders by status",
        f"Orders placed in the last {CHART_DAYS} days, by current status.",
        overview_data.orders_by_status(now, CHART_DAYS, accounts),
        lambda value: indian_number(value, 0),
    )
