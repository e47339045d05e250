"""The API's only request parser: JSON, refusing with a 400 what the standard parser lets
through: nesting too deep to parse, a key sent twice in one object (which would silently
keep the last), and text no database can store (a lone UTF-16 surrogate such as "\\ud800",
which is valid JSON), each naming the field."""

import codecs

from rest_framework.exceptions import ParseError
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from orderstate.errors import ValidationError
from orderstate.validation import check_json_text, is_storable, printable_name


class DuplicateKey(Exception):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


class ApiJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        except DuplicateKey as exc:
            name = printable_name(str(exc.key))[:64]
            raise ApiValidationError({name: ["sent more than once in one JSON object"]}) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {printable_name(str(exc))}") from None
        if not _may_hold_unstorable_text(text):
            return data
        try:
            check_json_text(data, "")
        except ValidationError as exc:
            raise ApiValidationError(exc.fields or {"non_field_errors": [exc.detail]}) from None
        return data


def _may_hold_unstorable_text(text):
    """Decoded JSON holds a surrogate or NUL only through a \\u escape, or as a character
    of the text itself (a body in a charset that decodes to one); checking both is
    cheaper than walking every value of every body."""
    return "\\u" in text or not is_storable(text)
