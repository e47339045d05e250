"""Derive the lot ledger of every symbol from the fills and history already recorded.

It runs the current `rebuild` (actions/ledger_rebuild.py) rather than a frozen
copy: the ledger's rules are one piece of code. The current code reads columns
later migrations add (fill and lot sources, 0015), so the work is done by
0016, after them; here it runs only where every table and column the rebuild
touches exists already (a migration changing one of those models later must
move the rebuild after it, as 0016 did). It prints each trade figure that changed (the old positions rounded
each partial sell and averaged re-entries over sold shares), so an upgrade says
what it corrected.
"""

import sys

from django.db import migrations


def current_schema(schema_editor):
    """Whether every table and column the rebuild reads and writes exists as the current
    models have them (the migrations that changed them have run)."""
    # Events are only read for their times (`at`), which every version has.
    from orderstate.models import Fill, Lot, LotMatch, Order, Position, Trade

    introspection = schema_editor.connection.introspection
    with schema_editor.connection.cursor() as cursor:
        tables = set(introspection.table_names(cursor))
        for model in (Fill, Lot, LotMatch, Order, Position, Trade):
            if model._meta.db_table not in tables:
                return False
            present = {
                column.name
                for column in introspection.get_table_description(cursor, model._meta.db_table)
            }
            if {field.column for field in model._meta.concrete_fields} - present:
                return False
    return True


def rebuild_every_symbol(apps, schema_editor, only_without_lots=False):
    from orderstate.actions.ledger_rebuild import rebuild
    from orderstate.models import Lot, Order, Trade

    if not current_schema(schema_editor):
        return
    symbols = set(Trade.objects.values_list("account", "symbol")) | set(
        Order.objects.filter(filled_quantity__gt=0).values_list("account", "base_symbol")
    )
    if only_without_lots:
        symbols -= set(Lot.objects.values_list("account", "symbol"))
    changed = 0
    for account, symbol in sorted(symbols):
        for trade_pk, field, old, new in rebuild(account, symbol):
            changed += 1
            sys.stdout.write(f"\n  ledger: {account} {symbol} trade {trade_pk} {field}: {old} -> {new}")
    if symbols:
        sys.stdout.write(f"\n  ledger rebuilt for {len(symbols)} symbols, {changed} trade figures changed\n")


class Migration(migrations.Migration):
    dependencies = [("orderstate", "0009_lot_ledger")]

    operations = [migrations.RunPython(rebuild_every_symbol, migrations.RunPython.noop)]
