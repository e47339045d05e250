"""For tests that start `manage.py` in a process of its own: the test database's URL."""

from django.db import connection


def database_url():
    """The URL of the database this test runs on, for a child process to use."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"
