"""The API as deployed: gunicorn with gunicorn.conf.py (two workers, DEBUG off, a real
SECRET_KEY) on an ephemeral port of 127.0.0.1, on the test database (SQLite or
PostgreSQL). A schemathesis fuzz with a fixed seed and a bounded number of examples
per operation must never get a 5xx; /metrics, whichever worker answers, counts the
requests of every worker."""

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
import schemathesis
from django.db import connection
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.generation.modes import GenerationMode

from orderstate.manager import OrderStateManager
from orderstate.models.auth import ApiToken
from tests.api.test_schema import DESIGNED
from tests.paths import ROOT
from tests.servers import wait_until_up

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_EXAMPLES = 5
FUZZED = sorted(
    (method, path, mode)
    for path, methods in DESIGNED.items()
    for method in methods
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # POST /trades/ takes no body: there is no invalid one to generate.
    if (method, path, mode) != ("post", "/api/v1/trades/", GenerationMode.NEGATIVE)
)


def database_url():
    """The test database as a URL the server's settings read (DATABASE_URL)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def live_server_url(tmp_path):
    """gunicorn serving the app on a socket this test bound to 127.0.0.1:0."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.set_inheritable(True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": "live-server-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"),
            *("--bind", f"fd://{listener.fileno()}", "--access-logfile", "/dev/null"),
        ],
        env=env,
        cwd=ROOT,
        pass_fds=[listener.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        wait_until_up(base, server, tmp_path / "gunicorn.log")
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        listener.close()


@pytest.fixture
def staff_token(staff_user):
    """A staff token, with an order and a queued buy so generated ids can hit something."""
    manager = OrderStateManager(source="api", actor=staff_user)
    manager.register_sell_order("TCS-EQ", "S-100", "4050.00", 5)
    manager.add_failed_order("INFY", qty=1)
    return ApiToken.issue(staff_user)[1]


def test_fuzz_of_the_live_server_never_answers_5xx(live_server_url, staff_token):
    schema = schemathesis.openapi.from_url(
        f"{live_server_url}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}
    )
    failures = []
    for method, path, mode in FUZZED:
        operation = schema[path][method.upper()]

        @given(case=operation.as_strategy(mode))
        @seed(20261202)
        @settings(
            max_examples=LIVE_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call(
                base_url=live_server_url, headers={"Authorization": f"Token {staff_token}"}
            )
            if response.status_code >= 500:
                failures.append((case.method, case.path, case.body, response.status_code))

        call()

    assert failures == []


def test_metrics_from_any_worker_count_every_workers_requests(live_server_url, staff_token):
    for _ in range(20):  # each on a new connection, so both workers take some
        assert httpx.delete(f"{live_server_url}/healthz").status_code == 403  # no CSRF token

    counts = set()
    for _ in range(6):
        text = httpx.get(
            f"{live_server_url}/metrics", headers={"Authorization": f"Token {staff_token}"}
        ).text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("orderstate_http_requests_total{")
            and 'method="DELETE"' in line
            and 'status="403"' in line
        )
        counts.add(float(line.rsplit(" ", 1)[1]))

    assert counts == {20.0}
