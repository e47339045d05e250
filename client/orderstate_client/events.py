"""The server's event feed as the bot reads it: `RemoteEvent`, and the loop behind
`OrderStateClient.watch_events`."""

from dataclasses import dataclass, field
from datetime import datetime

from orderstate_client.errors import ValidationError
from orderstate_client.http_errors import ServiceUnavailable, Throttled
from orderstate_client.remote import when

LATEST = "latest"


@dataclass(frozen=True)
class RemoteEvent:
    """One audit event as `GET /api/v1/events/` gives it; `order` is the broker order id."""

    id: int
    kind: str
    at: datetime | None = None
    account: str = "default"
    order: str | None = None
    symbol: str = ""
    from_status: str = ""
    to_status: str = ""
    source: str = ""
    actor: str | None = None
    data: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data):
        known = {name for name in cls.__dataclass_fields__ if name not in ("raw", "at")}
        values = {name: data[name] for name in known if data.get(name) is not None}
        return cls(**values, at=when(data.get("at")), raw=dict(data))


def kinds_param(kinds):
    """`kinds` (a comma string or an iterable of names) as the feed's `kind` parameter."""
    if kinds is None:
        return None
    names = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    if not all(isinstance(name, str) for name in names):
        raise ValidationError("kinds: event kinds are names, e.g. fill or executed")
    return ",".join(name.strip().lower() for name in names if name.strip()) or None


def event_id(after):
    """A cursor as the feed takes it: `latest` for None, else a whole number >= 0."""
    if after is None:
        return LATEST
    try:
        value = int(after)
    except (TypeError, ValueError):
        value = -1
    if value < 0 or isinstance(after, bool | float):
        raise ValidationError(f"after: not an event id: {after!r}")
    return value


def watch(read_page, pause, after):
    """Yield events forever from `read_page(after)` (one long poll: a page's JSON), moving
    the cursor to each page's `next_after` only once the whole page has arrived.

    A failure to reach the server (after the client's own retries) or a 429 is waited
    out with `pause(failures)` and the same page asked for again, so no event is
    skipped or given twice; any other error (401, 403, 400) ends the loop.
    """
    failures = 0
    while True:
        try:
            page = read_page(after)
        except (ServiceUnavailable, Throttled):
            pause(failures)
            failures += 1
            continue
        failures = 0
        for item in page["results"]:
            yield RemoteEvent.from_json(item)
        after = page["next_after"]
