"""HTTP to the receivers: a signed webhook POST, or a Telegram Bot API `sendMessage`.

Django-free and database-free, so the deliverer runs several at once in threads.
Every send is bounded: redirects are not followed, each read waits at most the
timeout, the answer is read up to MAX_ANSWER_BYTES and for at most the timeout
in all. An outcome never carries a bot token (it is in Telegram's URL path).
"""

import json
import time
from dataclasses import dataclass

import httpx

from orderstate.notify.payload import EVENT_ID_HEADER, SIGNATURE_HEADER, signature

MAX_ANSWER_BYTES = 64 * 1024
ERROR_LENGTH = 300
USER_AGENT = "orderstate-notify/1"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    event_id: int
    body: bytes


@dataclass(frozen=True)
class TelegramMessage:
    api_base: str
    bot_token: str
    chat_id: str
    text: str


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    error: str = ""
    retry_after: float | None = None  # seconds the receiver asked us to wait (Telegram's 429)


def send(client, target, timeout):
    """Send a Webhook or a TelegramMessage with `client` (an httpx.Client); an Outcome.

    Never raises: whatever goes wrong is the outcome's error, to be retried.
    """
    try:
        if isinstance(target, Webhook):
            return send_webhook(client, target, timeout)
        return send_telegram(client, target, timeout)
    except Exception as exc:  # a URL httpx refuses, a broken answer: retried like any failure
        token = getattr(target, "bot_token", "")
        return Outcome(False, _scrub(_clip(f"{type(exc).__name__}: {exc}"), token))


def send_webhook(client, hook, timeout):
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(hook.event_id),
        SIGNATURE_HEADER: signature(hook.secret, hook.body),
    }
    try:
        status, answer, location = _post(client, hook.url, hook.body, headers, timeout)
    except httpx.HTTPError as exc:
        return Outcome(False, _describe(exc, timeout))
    if 200 <= status < 300:
        return Outcome(True)
    if 300 <= status < 400:
        return Outcome(False, f"HTTP {status}: redirect to {location or '?'} not followed")
    return Outcome(False, _clip(f"HTTP {status}: {_text(answer)}"))


def send_telegram(client, message, timeout):
    url = f"{message.api_base}/bot{message.bot_token}/sendMessage"
    body = json.dumps(
        {"chat_id": message.chat_id, "text": message.text, "disable_web_page_preview": True}
    ).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    try:
        status, answer, _ = _post(client, url, body, headers, timeout)
    except httpx.HTTPError as exc:
        return Outcome(False, _scrub(_describe(exc, timeout), message.bot_token))
    reply = _json(answer)
    if status == 200 and reply.get("ok"):
        return Outcome(True)
    detail = _scrub(str(reply.get("description") or _text(answer)), message.bot_token)
    retry_after = (reply.get("parameters") or {}).get("retry_after")
    if status == 429 and isinstance(retry_after, int | float) and retry_after >= 0:
        return Outcome(False, _clip(f"Telegram {status}: {detail}"), float(retry_after))
    return Outcome(False, _clip(f"Telegram {status}: {detail}"))


def _post(client, url, body, headers, timeout):
    """(status, first bytes of the answer, Location) of one POST, bounded in size and time."""
    deadline = time.monotonic() + timeout
    with client.stream("POST", url, content=body, headers=headers) as response:
        answer = bytearray()
        for chunk in response.iter_bytes():
            answer += chunk
            if len(answer) >= MAX_ANSWER_BYTES or time.monotonic() > deadline:
                break
        return (
            response.status_code,
            bytes(answer[:MAX_ANSWER_BYTES]),
            response.headers.get("location"),
        )


def _describe(exc, timeout):
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return _clip(f"cannot connect: {exc}")
    return _clip(f"{type(exc).__name__}: {exc}")


def _json(answer):
    try:
        reply = json.loads(answer)
    except ValueError:
        return {}
    return reply if isinstance(reply, dict) else {}


def _text(answer):
    return answer[:ERROR_LENGTH].decode("utf-8", "replace").strip() or "(empty answer)"


def _clip(text):
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


def _scrub(text, token):
    return text.replace(token, "<bot token>") if token else text
