"""The ledger rebuild of 0010, for a database that reached 0010 from before the ledger: it
runs here, once every column the current code reads exists. Symbols that have lots
already (0010 built them, or syncs since did) are left as they are."""

from importlib import import_module

from django.db import migrations


def rebuild_symbols_without_lots(apps, schema_editor):
    ledger = import_module("orderstate.migrations.0010_rebuild_ledger")
    ledger.rebuild_every_symbol(apps, schema_editor, only_without_lots=True)


class Migration(migrations.Migration):
    dependencies = [("orderstate", "0015_live_broker")]

    operations = [migrations.RunPython(rebuild_symbols_without_lots, migrations.RunPython.noop)]
