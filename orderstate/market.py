"""Market time: India Standard Time, whatever the server's own zone.

Free of Django, so the bot's HTTP client writes times exactly as the server does.
"""

from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")


def legacy_time(moment):
    """Naive ISO text in IST, as the old bot's JSON files stored times; None for None."""
    return moment.astimezone(IST).replace(tzinfo=None).isoformat() if moment else None
