"""Derive the lot ledger of every symbol from the fills and history already recorded.

It runs the current `rebuild` (actions/ledger_rebuild.py) rather than a frozen
copy: the ledger's rules are one piece of code. On a new database it finds
nothing to do. It prints each trade figure that changed (the old positions
rounded each partial sell and averaged re-entries over sold shares), so an
upgrade says what it corrected.
"""

import sys

from django.db import migrations


def rebuild_every_symbol(apps, schema_editor):
    from orderstate.actions.ledger_rebuild import rebuild
    from orderstate.models import Order, Trade

    symbols = set(Trade.objects.values_list("account", "symbol")) | set(
        Order.objects.filter(filled_quantity__gt=0).values_list("account", "base_symbol")
    )
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
