"""Field shapes and names every model module shares."""

from django.db.models import Q

PRICE = {"max_digits": 14, "decimal_places": 2}
AVERAGE = {"max_digits": 16, "decimal_places": 4}
AMOUNT = {"max_digits": 18, "decimal_places": 2}
# Exact totals of price x quantity, kept unrounded: P&L is rounded once, at the end.
EXACT = {"max_digits": 24, "decimal_places": 4}
DEFAULT_ACCOUNT = "default"


def positive_or_null(field):
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": 0})
