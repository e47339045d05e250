"""The event feed (GET /api/v1/events/): each event's account and symbol, the writing
transaction that orders the feed, and on PostgreSQL a NOTIFY when events commit.

Existing events get their order's account and base symbol; events of no order
those their data names (a symbol, a trade, a failed buy). The NOTIFY is sent by
a statement trigger, so every writer sends it and PostgreSQL delivers it only
with the commit: a waiting reader is woken for committed events only, never for
a change that rolled back.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import orderstate.models.events

NOTIFY_SQL = """
CREATE FUNCTION orderstate_event_committed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orderstate_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER orderstate_event_committed AFTER INSERT ON orderstate_orderevent
    FOR EACH STATEMENT EXECUTE FUNCTION orderstate_event_committed();
"""
DROP_NOTIFY_SQL = """
DROP TRIGGER IF EXISTS orderstate_event_committed ON orderstate_orderevent;
DROP FUNCTION IF EXISTS orderstate_event_committed();
"""


def fill_account_and_symbol(apps, schema_editor):
    OrderEvent = apps.get_model("orderstate", "OrderEvent")
    Order = apps.get_model("orderstate", "Order")
    Trade = apps.get_model("orderstate", "Trade")
    FailedOrder = apps.get_model("orderstate", "FailedOrder")
    the_order = Order.objects.filter(pk=OuterRef("order_id"))
    OrderEvent.objects.filter(order__isnull=False).update(
        account=Subquery(the_order.values("account")[:1]),
        symbol=Subquery(the_order.values("base_symbol")[:1]),
    )
    trades = dict(
        (pk, (account, symbol))
        for pk, account, symbol in Trade.objects.values_list("pk", "account", "symbol")
    )
    failed = dict(
        (pk, (account, symbol))
        for pk, account, symbol in FailedOrder.objects.values_list("pk", "account", "symbol")
    )
    changed = []
    for event in OrderEvent.objects.filter(order__isnull=True).only("pk", "data", "account").iterator():
        data = event.data if isinstance(event.data, dict) else {}
        account, symbol = trades.get(data.get("trade_id")) or failed.get(
            data.get("failed_order_id")
        ) or (event.account, "")
        symbol = data.get("symbol") or data.get("ledger_rebuilt") or symbol
        event.account, event.symbol = account, str(symbol)[:40]
        changed.append(event)
    OrderEvent.objects.bulk_update(changed, ["account", "symbol"], batch_size=500)


def create_notify_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NOTIFY_SQL)


def drop_notify_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_NOTIFY_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ("orderstate", "0018_feed_status"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="orderevent",
            name="account",
            field=models.CharField(default="default", max_length=64),
        ),
        migrations.AddField(
            model_name="orderevent",
            name="symbol",
            field=models.CharField(blank=True, help_text="Base symbol, e.g. RELIANCE", max_length=40),
        ),
        migrations.AddField(
            model_name="orderevent",
            name="writer_xid",
            field=models.BigIntegerField(
                db_default=orderstate.models.events.WritingTransaction(), editable=False
            ),
        ),
        migrations.AddIndex(
            model_name="orderevent",
            index=models.Index(fields=["writer_xid", "id"], name="event_feed_position"),
        ),
        migrations.RunPython(fill_account_and_symbol, migrations.RunPython.noop),
        migrations.RunPython(create_notify_trigger, drop_notify_trigger),
    ]
