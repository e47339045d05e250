"""Market time: India Standard Time, whatever the machine's own zone.

The client writes times exactly as the server does. The NSE trading calendar
stays on the server (`orderstate.market`): it needs the `holidays` package and
the server's settings, and the client needs neither.
"""

from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")


def legacy_time(moment):
    """Naive ISO text in IST, as the old bot's JSON files stored times; None for None."""
    return moment.astimezone(IST).replace(tzinfo=None).isoformat() if moment else None
