"""The test database as a URL, for `manage.py` subprocesses that must use it too."""

from django.db import connection


def database_url():
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"
