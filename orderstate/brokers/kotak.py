"""Kotak Neo, through its official SDK (`pip install 'orderstate[kotak]'`, module `neo_api_client`).

The SDK reports most failures by return value rather than by raising: `None`
on some HTTP errors, `{"Error": exc}` for timeouts and refused connections,
`{"stat": "Not_Ok", ...}` or `{"error": [...]}` bodies from the server. Each of
those, and a raised exception, is retried a bounded number of times with
exponential backoff and jitter, then surfaces as one `BrokerUnavailable`.
"""

import logging
import os
import random
import time
from dataclasses import dataclass

from orderstate.brokers.base import BrokerUnavailable
from orderstate.brokers.kotak_report import is_empty_book_answer, parse_order_report
from orderstate.env import env_str

log = logging.getLogger(__name__)

CREDENTIALS = {
    "consumer_key": "KOTAK_CONSUMER_KEY",
    "mobile_number": "KOTAK_MOBILE_NUMBER",
    "ucc": "KOTAK_UCC",
    "mpin": "KOTAK_MPIN",
    "totp_secret": "KOTAK_TOTP_SECRET",
}
ATTEMPTS = 4
BASE_DELAY = 1.0
MAX_DELAY = 20.0
SESSION_LOST = ("2fa", "session", "invalid token", "unauthori", "401")


@dataclass(frozen=True)
class KotakCredentials:
    consumer_key: str
    mobile_number: str
    ucc: str
    mpin: str
    totp_secret: str
    environment: str = "prod"

    @classmethod
    def from_environment(cls):
        """Read every credential from the environment (or NAME_FILE); never from a file we ship."""
        values = {field: env_str(variable) for field, variable in CREDENTIALS.items()}
        missing = [CREDENTIALS[field] for field, value in values.items() if not value]
        if missing:
            raise BrokerUnavailable(f"kotak: set {', '.join(missing)} in the environment")
        return cls(**values, environment=env_str("KOTAK_ENVIRONMENT", "prod"))

    def totp(self):
        import pyotp

        return pyotp.TOTP(self.totp_secret).now()


class KotakBroker:
    name = "kotak"

    def __init__(
        self,
        credentials=None,
        *,
        client=None,
        transport=None,
        attempts=ATTEMPTS,
        base_delay=BASE_DELAY,
        max_delay=MAX_DELAY,
        sleep=time.sleep,
    ):
        self.credentials = credentials
        self.client = client
        self.transport = transport
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.logged_in = client is not None

    @classmethod
    def from_environment(cls):
        """Credentials are read at the first login, so a missing one fails a run, not startup."""
        return cls()

    def fetch_order_book(self):
        return parse_order_report(self.fetch_raw())

    def fetch_raw(self):
        """The raw `order_report` body, after at most `attempts` tries."""
        problem = "no attempt made"
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self._delay(attempt))
            try:
                if not self.logged_in:
                    self._login()
                body = self.client.order_report()
            except BrokerUnavailable as exc:
                problem = str(exc)
                continue
            except Exception as exc:  # the SDK raises what it likes; every kind is retried
                problem = f"{type(exc).__name__}: {exc}"
                log.warning("kotak order_report raised (attempt %d): %s", attempt + 1, problem)
                continue
            problem = _problem(body)
            if problem is None:
                return body
            log.warning("kotak order_report failed (attempt %d): %s", attempt + 1, problem)
            if _session_lost(problem):
                self.logged_in = False
        raise BrokerUnavailable(
            f"kotak: order book unavailable after {self.attempts} tries: {problem}"
        )

    def _delay(self, attempt):
        # Full jitter: many bots retrying together after a 429 do not come back in step.
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _login(self):
        if self.credentials is None:
            self.credentials = KotakCredentials.from_environment()
        if self.client is None:
            self.client = _new_client(self.credentials, self.transport)
        creds = self.credentials
        answer = self.client.totp_login(
            mobile_number=creds.mobile_number, ucc=creds.ucc, totp=creds.totp()
        )
        if not _has_data(answer):
            raise BrokerUnavailable(f"kotak: TOTP login refused: {_describe(answer)}")
        answer = self.client.totp_validate(mpin=creds.mpin)
        if not _has_data(answer):
            raise BrokerUnavailable(f"kotak: MPIN validation refused: {_describe(answer)}")
        self.logged_in = True


def _new_client(credentials, transport):
    # The SDK writes a rotating log file under ./logs unless told not to; a
    # server should log through its own handlers. An explicit setting wins.
    os.environ.setdefault("NEO_LOG_FILE_ENABLED", "false")
    try:
        from neo_api_client import NeoAPI
    except ImportError:
        raise BrokerUnavailable(
            "kotak: the SDK is not installed; pip install 'orderstate[kotak]'"
        ) from None
    return NeoAPI(
        consumer_key=credentials.consumer_key,
        environment=credentials.environment,
        transport=transport,
    )


def _problem(body):
    """None when `body` is an order book; otherwise what is wrong with it."""
    if body is None:
        return "the SDK returned None (an HTTP error)"
    if isinstance(body, list):
        return None
    if not isinstance(body, dict):
        return f"unexpected {type(body).__name__} body"
    if "data" in body and str(body.get("stat", "Ok")).lower() == "ok":
        rows = body["data"]
        if rows is None or isinstance(rows, list):
            return None
        return f"'data' is {type(rows).__name__}, not a list of orders"
    if is_empty_book_answer(body):
        return None
    return _describe(body)


def _has_data(answer):
    return isinstance(answer, dict) and isinstance(answer.get("data"), dict)


def _session_lost(problem):
    text = problem.lower()
    return any(word in text for word in SESSION_LOST)


def _describe(body):
    if not isinstance(body, dict):
        return repr(body)[:300]
    parts = []
    for key in ("stat", "stCode", "code", "emsg", "errMsg", "message", "Error", "Error Message"):
        if key in body:
            parts.append(f"{key}={body[key]!s}")
    if "error" in body:
        parts.append(f"error={body['error']!s}")
    return (", ".join(parts) or repr(body))[:300]
