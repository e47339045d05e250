"""A sync's figures in the words a trader reads, not the stats keys the sync stores."""

from django import template

register = template.Library()

# What each count of a sync run means; a key not listed reads as its words.
CHANGES = {
    "executed": "executed",
    "partially_filled": "partly filled",
    "opened": "opened at the exchange",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "price_updated": "price changed at the broker",
    "quantity_changed": "quantity changed at the broker",
    "late_fills": "filled after we had stopped tracking them",
    "manual_sells": "sold by hand at the broker",
    "manual_buys": "bought by hand at the broker",
    "external": "placed outside the bot, now recorded",
    "missing": "missing from the broker's book",
    "flagged": "flagged: missing for several syncs",
    "unknown_status": "in a status we do not know",
    "errors": "broker rows that could not be read",
}
# Not changes: how many were compared, the dry run's plan, check_state's findings.
NOT_CHANGES = frozenset({"checked", "plan", "state_problems", "state_problem_codes"})


@register.filter
def sync_changes(stats):
    """[(count, words)] of a run's non-zero changes, in a fixed order; [] when none."""
    counts = {
        key: value
        for key, value in (stats or {}).items()
        if key not in NOT_CHANGES and isinstance(value, int) and value
    }
    known = [(counts.pop(key), words) for key, words in CHANGES.items() if key in counts]
    return known + [(value, key.replace("_", " ")) for key, value in sorted(counts.items())]


@register.filter
def problem_words(stats):
    """check_state's findings after the run as [(count, words)], e.g. (1, "oversold")."""
    codes = (stats or {}).get("state_problem_codes") or {}
    return [(count, code.replace("_", " ")) for code, count in sorted(codes.items()) if count]
