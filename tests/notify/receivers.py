"""Real HTTP receivers on 127.0.0.1 for the deliverer to send to: a webhook receiver, a fake
Telegram Bot API, and ports where nothing listens.

Each is a threaded `http.server` on an ephemeral port; `respond(request)` decides
the answer. Nothing in the HTTP layer is mocked.
"""

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 204
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    chunks: object = None  # an iterable of bytes, sent chunked (an endless body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Receiver:
    """Records every POST; answers with `respond(request) -> Answer` (default 204).

    `port` reuses a port (a receiver that comes back after an outage).
    """

    def __init__(self, respond=None, port=0):
        self.respond = respond or (lambda request: Answer())
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.path, dict(self.headers.items()), self.rfile.read(length))
                with receiver.lock:
                    receiver.requests.append(request)
                answer = receiver.respond(request)
                # The client may stop reading, as it should for a huge body.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(answer)

            def _send(self, answer):
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in answer.chunks:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self):
        with self.lock:
            return [request.json() for request in self.requests]


def telegram_ok(request):
    return Answer(200, {"Content-Type": "application/json"}, b'{"ok":true,"result":{}}')


def telegram_error(status, description, **parameters):
    body = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def closed_port():
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
