"""What a Kotak Neo answer means: a usable body, a lost session, a refusal no retry can
fix, or a failure worth another try.

The SDK reports most failures by return value: `None`, `{"Error": exc}` (a
network error, or a body that is not JSON), or the broker's own body whatever
the HTTP status (`{"stat": "Not_Ok", "stCode": 100022, ...}`, the API gateway's
`{"code": "900901", ...}`). It drops the HTTP status of a body that is not JSON,
so an HTML 401/403 page and a 502 page look alike: both count as a possibly
lost session, and the next try logs in again.
"""

import json
from dataclasses import dataclass

from orderstate.brokers.kotak_fields import error_text, is_empty_answer

SESSION, FATAL, TRANSIENT = "session", "fatal", "transient"
# stCode 100022 "invalid session token"; 1037: the session was made from another IP
# (a new session from this machine's IP fixes it).
SESSION_CODES = {"100022", "1037", "900901"}
# stCode 100008 "unauthorized": this machine's IP is not whitelisted (Kotak's static-IP rule).
IP_NOT_WHITELISTED = "100008"
TRANSIENT_CODES = {"429", "500", "502", "503", "504"}
SESSION_WORDS = ("session", "token", "2fa", "login", "auth", "jwt", "credential", "forbidden")
TRANSIENT_WORDS = ("too many", "unavailable", "timeout", "timed out", "connect", "gateway")
STATIC_IP_HELP = (
    "this machine's IP is not whitelisted for Kotak's Trade API (stCode 100008, Kotak's "
    "static-IP rule for order APIs). Add it in "
    "the NEO app: More → Trade API → Add IP (at most 2 IPs, changeable once a week), then "
    "start again: a session must be created from the whitelisted IP"
)


@dataclass(frozen=True)
class Failure:
    kind: str  # SESSION, FATAL or TRANSIENT
    message: str


def judge(body, *, accept):
    """None when `accept(body)` takes it (or it is Kotak's empty "No Data" answer), else a
    Failure saying what kind it is."""
    if body is not None and (is_empty_answer(body) or accept(body)):
        return None
    if body is None:
        return Failure(TRANSIENT, "the SDK returned None (an HTTP error)")
    if not isinstance(body, dict):
        return Failure(SESSION, f"unexpected {type(body).__name__} body: {repr(body)[:200]}")
    message = describe(body)
    codes = _codes(body)
    if IP_NOT_WHITELISTED in codes:
        return Failure(FATAL, f"{STATIC_IP_HELP} ({message})")
    if codes & SESSION_CODES:
        return Failure(SESSION, message)
    error = body.get("Error")
    if isinstance(error, json.JSONDecodeError):
        # Not JSON: an HTML page, maybe the 401/403 of a lost session; the status is lost.
        return Failure(SESSION, f"the broker's answer is not JSON: {error}")
    words = _words(body)
    if codes & TRANSIENT_CODES or any(word in words for word in TRANSIENT_WORDS):
        return Failure(TRANSIENT, message)
    if any(word in words for word in SESSION_WORDS) or {"401", "403"} & codes:
        return Failure(SESSION, message)
    return Failure(TRANSIENT, message)


def judge_login(answer, step, help_text):
    """None when a login step succeeded (its `data` holds a token, the SDK's own test);
    else a Failure: a refusal is FATAL (wrong credentials or machine), unless it looks
    like the network or an overloaded broker."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict) and data.get("token"):
        return None
    if not isinstance(answer, dict):
        return Failure(TRANSIENT, f"{step}: unexpected answer {repr(answer)[:200]}")
    message = f"{step} refused: {describe(answer)}"
    codes = _codes(answer)
    if IP_NOT_WHITELISTED in codes:
        return Failure(FATAL, f"{STATIC_IP_HELP} ({message})")
    if "Error" in answer or codes & TRANSIENT_CODES:
        return Failure(TRANSIENT, message)
    if any(word in _words(answer) for word in TRANSIENT_WORDS):
        return Failure(TRANSIENT, message)
    return Failure(FATAL, f"{message}. {help_text}")


def describe(body):
    if not isinstance(body, dict):
        return repr(body)[:300]
    inner = body.get("data")
    if isinstance(inner, dict) and "stCode" in inner:
        return error_text(inner)
    return error_text(body)


def _codes(body):
    codes = set()
    for holder in (body, body.get("data"), body.get("fault")):
        if isinstance(holder, dict):
            codes.update(str(holder[key]) for key in ("stCode", "code") if key in holder)
    for entry in body.get("error") or ():
        if isinstance(entry, dict) and "code" in entry:
            codes.add(str(entry["code"]))
    return codes


def _words(body):
    return json.dumps(body, default=str).lower()
