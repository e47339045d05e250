"""Kotak Neo faked at its HTTP boundary for the adapter's tests: the real SDK
(`NeoAPI(..., transport=httpx.MockTransport(...))`) talks to `KotakServer`, which answers
its login and report calls with bodies in Kotak's documented shapes (tests/fixtures/kotak)."""

import json

import httpx

from orderstate.brokers.kotak import KotakBroker, KotakCredentials
from tests.kotak_book import load

BASE_URL = "https://e43.kotaksecurities.com"
CREDENTIALS = KotakCredentials(
    consumer_key="consumer-key",
    mobile_number="+919876543210",
    ucc="YA1234",
    mpin="123456",
    totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
)


class KotakServer:
    """Answers the SDK's login and report calls: each report from its own queue of replies.

    Login answers are Kotak's documented samples (totp_login.md, totp_validate.md).
    """

    PATHS = {
        "/quick/user/orders": "orders",
        "/quick/user/trades": "trades",
        "/portfolio/v2/positions": "positions",
        "/portfolio/v1/holdings": "holdings",
    }

    def __init__(self, *book_replies, trades=(), positions=(), holdings=(), logins=()):
        self.replies = {
            "orders": list(book_replies),
            "trades": list(trades),
            "positions": list(positions),
            "holdings": list(holdings),
        }
        self.login_replies = list(logins)
        self.logins = 0
        self.validations = 0
        self.book_requests = []
        self.requests = []

    def __call__(self, request):
        path = request.url.path
        if path.endswith("/login/1.0/tradeApiLogin"):
            self.logins += 1
            body = json.loads(request.content)
            assert body["ucc"] == "YA1234" and len(body["totp"]) == 6
            if self.login_replies:
                return self._reply(self.login_replies.pop(0))
            return ok(load("totp_login_ok"))
        if path.endswith("/login/1.0/tradeApiValidate"):
            self.validations += 1
            assert json.loads(request.content) == {"mpin": "123456"}
            answer = load("totp_validate_ok")
            answer["data"]["baseUrl"] = BASE_URL
            return ok(answer)
        for suffix, name in self.PATHS.items():
            if path.endswith(suffix):
                self.requests.append((name, request))
                if name == "orders":
                    self.book_requests.append(request)
                return self._reply(self.replies[name].pop(0))
        return httpx.Response(404, json={"error": "not here"})

    @staticmethod
    def _reply(reply):
        if isinstance(reply, Exception):
            raise reply
        return reply


def ok(body):
    return httpx.Response(200, json=body)


def broker_for(server, attempts=3):
    delays = []
    broker = KotakBroker(
        CREDENTIALS,
        transport=httpx.MockTransport(server),
        attempts=attempts,
        sleep=delays.append,
    )
    return broker, delays
