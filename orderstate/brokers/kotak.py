"""Kotak Neo, through its official SDK (`pip install 'orderstate[kotak]'`, module `neo_api_client`,
3.0.6 or later).

Every call (`order_report`, `trade_report`, `positions`, `holdings`) is tried a
bounded number of times with exponential backoff and jitter; what each answer
means is `kotak_answers.judge`. After a failure that looks like a lost session
the next try logs in again, and so does the first call of a new IST day (Kotak
sessions end daily). A refused login (wrong TOTP secret or MPIN, a machine not
whitelisted) raises `BrokerLoginRefused` at once: retrying cannot fix it.
"""

import logging
import os
import random
import time
from dataclasses import dataclass

from django.utils import timezone

from orderstate.brokers.base import BrokerLoginRefused, BrokerUnavailable
from orderstate.brokers.kotak_answers import FATAL, SESSION, TRANSIENT, Failure, judge, judge_login
from orderstate.brokers.kotak_positions import parse_holdings
from orderstate.brokers.kotak_report import parse_order_report
from orderstate.brokers.kotak_trades import parse_trade_report
from orderstate.env import env_str
from orderstate.market import IST

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
TOTP_HELP = (
    "Check KOTAK_TOTP_SECRET (the secret of the TOTP registration: NEO app → More → "
    "Trade API → TOTP Registration), KOTAK_MOBILE_NUMBER, KOTAK_UCC, KOTAK_CONSUMER_KEY "
    "and this server's clock"
)
MPIN_HELP = "Check KOTAK_MPIN"


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
            raise BrokerLoginRefused(f"kotak: set {', '.join(missing)} in the environment")
        return cls(**values, environment=env_str("KOTAK_ENVIRONMENT", "prod"))

    def totp(self):
        import pyotp

        return pyotp.TOTP(self.totp_secret).now()


def _is_book(body):
    """An order or trade book: `{"stat": "Ok", "data": [...]}` (or `data` null), or a bare list."""
    if isinstance(body, list):
        return True
    if not isinstance(body, dict) or str(body.get("stat", "")).lower() != "ok":
        return False
    return body.get("data") is None or isinstance(body.get("data"), list)


def _is_holdings(body):
    """Holdings come without `stat`: `{"data": [...]}`."""
    return isinstance(body, dict) and isinstance(body.get("data"), list) and "Error" not in body


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
        clock=timezone.now,
    ):
        self.credentials = credentials
        self.client = client
        self.transport = transport
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.clock = clock
        self.logged_in = client is not None
        self.session_day = self._today() if client is not None else None

    @classmethod
    def from_environment(cls):
        """Credentials are read at the first login, so a missing one fails a run, not startup."""
        return cls()

    def fetch_order_book(self):
        return parse_order_report(self.call("order_report", _is_book))

    def fetch_trade_book(self):
        return parse_trade_report(self.call("trade_report", _is_book))

    def fetch_holdings(self):
        positions = self.call("positions", _is_book)
        return parse_holdings(positions, self.call("holdings", _is_holdings))

    def call(self, method, accept):
        """The SDK's `method()` answer that `accept` takes, after at most `attempts` tries."""
        failure = Failure(TRANSIENT, "no attempt made")
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self._delay(attempt))
            if self.logged_in and self.session_day != self._today():
                log.info("kotak: a new IST day; logging in again")
                self.logged_in = False
            try:
                if not self.logged_in:
                    self._login()
                body = getattr(self.client, method)()
            except BrokerLoginRefused:
                raise
            except BrokerUnavailable as exc:
                failure = Failure(TRANSIENT, str(exc))
                continue
            except Exception as exc:  # the SDK raises what it likes; every kind is retried
                failure = Failure(TRANSIENT, f"{type(exc).__name__}: {exc}")
                log.warning(
                    "kotak %s raised (attempt %d): %s", method, attempt + 1, failure.message
                )
                continue
            failure = judge(body, accept=accept)
            if failure is None:
                return body
            log.warning("kotak %s failed (attempt %d): %s", method, attempt + 1, failure.message)
            if failure.kind == FATAL:
                raise BrokerLoginRefused(f"kotak: {failure.message}")
            if failure.kind == SESSION:
                self.logged_in = False
        raise BrokerUnavailable(
            f"kotak: {method} unavailable after {self.attempts} tries: {failure.message}"
        )

    def _delay(self, attempt):
        # Full jitter: many bots retrying together after a 429 do not come back in step.
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _today(self):
        return timezone.localtime(self.clock(), IST).date()

    def _login(self):
        if self.credentials is None:
            self.credentials = KotakCredentials.from_environment()
        if self.client is None:
            self.client = _new_client(self.credentials, self.transport)
        creds = self.credentials
        answer = self.client.totp_login(
            mobile_number=creds.mobile_number, ucc=creds.ucc, totp=creds.totp()
        )
        _check_login(answer, "TOTP login", TOTP_HELP)
        _check_login(self.client.totp_validate(mpin=creds.mpin), "MPIN validation", MPIN_HELP)
        self.logged_in = True
        self.session_day = self._today()


def _check_login(answer, step, help_text):
    failure = judge_login(answer, step, help_text)
    if failure is None:
        return
    if failure.kind == FATAL:
        raise BrokerLoginRefused(f"kotak: {failure.message}")
    raise BrokerUnavailable(f"kotak: {failure.message}")


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
    options = {"consumer_key": credentials.consumer_key, "environment": credentials.environment}
    # `transport` exists from SDK 3.0.6; passed only when given, so an older SDK still logs in.
    if transport is not None:
        options["transport"] = transport
    return NeoAPI(**options)
