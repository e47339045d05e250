"""Field shapes and names every model module shares."""

import re

from django import forms
from django.db import models
from django.db.models import Q
from django.forms.fields import InvalidJSONInput

from orderstate import errors
from orderstate.validation import check_json_text

PRICE = {"max_digits": 14, "decimal_places": 2}
AVERAGE = {"max_digits": 16, "decimal_places": 4}
AMOUNT = {"max_digits": 18, "decimal_places": 2}
# Exact totals of price x quantity, kept unrounded: P&L is rounded once, at the end.
EXACT = {"max_digits": 24, "decimal_places": 4}
DEFAULT_ACCOUNT = "default"


def positive_or_null(field):
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": 0})


class StorableJSONFormField(forms.JSONField):
    """The admin's JSON box: refuses text no database can store, and shows the text as
    typed (re-rendering the parsed value would put the unencodable character in the page)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            check_json_text(parsed, "")
        except errors.ValidationError as exc:
            raise forms.ValidationError(exc.detail, code="unstorable") from None
        return parsed

    def bound_data(self, data, initial):
        parsed = super().bound_data(data, initial)
        try:
            check_json_text(parsed, "")
        except errors.ValidationError:
            return InvalidJSONInput(data)
        return parsed


class ReadableJSONField(models.JSONField):
    """A JSONField that reads a lone UTF-16 surrogate back as U+FFFD (the replacement
    character) instead of failing.

    Before input was checked (validation.is_storable), SQLite kept such text as the
    escape "\\ud800"; read back, it could not be encoded as UTF-8, so every API list,
    dashboard page and legacy export that included the row failed. Today's input never
    holds one, and PostgreSQL never stored one; the check below costs one substring
    search per value read.
    """

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": StorableJSONFormField, **kwargs})

    def from_db_value(self, value, expression, connection):
        parsed = super().from_db_value(value, expression, connection)
        if isinstance(value, str) and ("\\ud" in value or "\\uD" in value):
            return _replace_lone_surrogates(parsed)
        return parsed


def _replace_lone_surrogates(value):
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {
            _replace_lone_surrogates(key): _replace_lone_surrogates(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_replace_lone_surrogates(item) for item in value]
    return value


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
