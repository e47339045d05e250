"""Kotak's side of the order feed, on 127.0.0.1: the REST login and book, and the websocket.

`KotakRest` answers the SDK's login and `order_report` calls through an
`httpx.MockTransport` (each login hands out a new trade token). `FeedServer`
is a real websocket server (the `websockets` package) in a thread of its own,
speaking the order feed as Kotak documents it: it reads the SDK's raw handshake
`{type:cn,Authorization:<token>,Sid:<sid>,src:WEB}`, acknowledges it with
`{"ak":"ok","type":"cn",...}` (or refuses it), then sends order frames. Each
connection plays the next `Session` of its script; the last one repeats.
"""

import asyncio
import json
import re
import threading
from dataclasses import dataclass, field

import httpx

from orderstate.brokers.kotak import KotakBroker, KotakCredentials
from tests.paths import RECORDED

FIXTURES = RECORDED / "kotak" / "feed"
ACK = '{"ak":"ok","type":"cn","task":"cn","msg":"connected"}'
REFUSAL = '{"ak":"nok","type":"cn","task":"cn","msg":"invalid session token"}'
NO_DATA = {"stCode": 5203, "errMsg": "No Data", "desc": "data not found", "stat": "Not_Ok"}
HANDSHAKE = re.compile(
    r"\{type:cn,Authorization:(?P<token>[^,]*),Sid:(?P<sid>[^,]*),src:(?P<src>\w+)\}"
)
CREDENTIALS = KotakCredentials(
    consumer_key="consumer-key",
    mobile_number="+919876543210",
    ucc="YA1234",
    mpin="123456",
    totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
)


def fixture_frames():
    """The recorded frames (tests/fixtures/kotak/feed/order_feed_frames.jsonl), as sent."""
    return (FIXTURES / "order_feed_frames.jsonl").read_text(encoding="utf-8").splitlines()


def fixture_body(name):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class KotakRest:
    """The REST side: TOTP login, MPIN validation (a new token each time) and the order book."""

    def __init__(self, book=None, refuse_logins=0):
        self.book = book if book is not None else NO_DATA
        self.refuse_logins = refuse_logins  # the first this many TOTP logins fail
        self.logins = 0
        self.book_reads = 0

    @property
    def token(self):
        return f"trade-token-{self.logins}"

    def __call__(self, request):
        path = request.url.path
        if path.endswith("/login/1.0/tradeApiLogin"):
            if self.refuse_logins:
                self.refuse_logins -= 1
                return httpx.Response(503, text="<html>Service Unavailable</html>")
            return httpx.Response(200, json=fixture_body("totp_login_ok"))
        if path.endswith("/login/1.0/tradeApiValidate"):
            self.logins += 1
            validated = fixture_body("totp_validate_ok")
            validated["data"]["token"] = self.token
            return httpx.Response(200, json=validated)
        if path.endswith("/quick/user/orders"):
            self.book_reads += 1
            return httpx.Response(200, json=self.book)
        return httpx.Response(404, json={"error": [{"code": "404", "message": "not here"}]})

    def broker(self):
        return KotakBroker(
            CREDENTIALS, transport=httpx.MockTransport(self), attempts=1, sleep=lambda _: None
        )


@dataclass
class Session:
    """What the server does on one connection."""

    frames: list = field(default_factory=list)  # sent after the acknowledgement
    accept: bool = True  # False: refuse the handshake
    refuse_by: str = "frame"  # "frame": a "nok" acknowledgement; "close": close, no answer
    close_after: float | None = None  # close this long after the frames; None: stay open
    only_token: str | None = None  # refuse any other token


class FeedServer:
    """A websocket server on an ephemeral port of 127.0.0.1, in its own thread and loop."""

    def __init__(self, *script):
        self.script = list(script) or [Session()]
        self.handshakes = []
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fake-kotak-feed", daemon=True)
        self.open = set()
        self.port = None

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/realtime"

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(10), "the fake feed server did not start"
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.thread.join(10)

    def send(self, *frames):
        """Send frames on every open connection now (from the test's thread)."""
        asyncio.run_coroutine_threadsafe(self._broadcast(frames), self.loop).result(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        from websockets.asyncio.server import serve

        self.stopped = asyncio.Event()
        async with serve(self._connection, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.stopped.wait()

    async def _shutdown(self):
        for websocket in list(self.open):
            await websocket.close()
        self.stopped.set()

    async def _broadcast(self, frames):
        for websocket in list(self.open):
            for frame in frames:
                await websocket.send(frame)

    async def _connection(self, websocket):
        session = self.script[min(self.connections, len(self.script) - 1)]
        self.connections += 1
        handshake = await websocket.recv()
        self.handshakes.append(handshake)
        match = HANDSHAKE.fullmatch(handshake)
        token = match["token"] if match else None
        if not session.accept or (session.only_token and token != session.only_token):
            if session.refuse_by == "frame":
                await websocket.send(REFUSAL)
                await asyncio.sleep(0.2)
            await websocket.close(code=1008, reason="invalid session")
            return
        await websocket.send(ACK)
        self.open.add(websocket)
        try:
            for frame in session.frames:
                await websocket.send(frame)
            if session.close_after is None:
                await websocket.wait_closed()
                return
            await asyncio.sleep(session.close_after)
            await websocket.close()
        finally:
            self.open.discard(websocket)
