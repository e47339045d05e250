"""The OpenAPI schema, the docs page from vendored assets, and a fuzz of the API against both.

The fuzz (schemathesis) sends schema-generated and schema-violating requests with a
fixed seed and a bounded number of examples, and checks that nothing answers 5xx and
that every answer (status, content type, body) is what the schema documents.
"""

from contextlib import contextmanager

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.generation.modes import GenerationMode

from orderstate import sync
from orderstate.models import SyncOutcome, SyncRun
from orderstate.models.auth import ApiToken
from orderstate.states import Status
from tests.api.bodies import register
from tests.clients import api_client_for

# DESIGN.md's REST API table, as OpenAPI paths and methods.
DESIGNED = {
    "/api/v1/orders/": {"get", "post"},
    "/api/v1/orders/{broker_order_id}/": {"get", "patch"},
    "/api/v1/orders/{broker_order_id}/fills/": {"post"},
    "/api/v1/orders/{broker_order_id}/execute/": {"post"},
    "/api/v1/orders/{broker_order_id}/cancel/": {"post"},
    "/api/v1/orders/{broker_order_id}/events/": {"get"},
    "/api/v1/active-sell-orders/": {"get"},
    "/api/v1/trades/": {"get", "post"},
    "/api/v1/trades/{id}/": {"get"},
    "/api/v1/failed-orders/": {"get", "post"},
    "/api/v1/failed-orders/{id}/": {"get", "delete"},
    "/api/v1/sync/": {"post"},
    "/api/v1/sync-runs/": {"get"},
    "/api/v1/sync-runs/{id}/": {"get"},
    "/api/v1/events/": {"get"},
}
FUZZ_EXAMPLES = 10


@pytest.fixture
def schema_json(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3(schema_json):
    validate_schema(schema_json)

    assert schema_json["openapi"].startswith("3.")


def test_schema_has_exactly_the_designed_paths(schema_json):
    paths = {
        path: {method for method in operations if method != "parameters"}
        for path, operations in schema_json["paths"].items()
    }

    assert paths == DESIGNED


def test_every_error_response_uses_the_error_shape(schema_json):
    for path, operations in schema_json["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response["content"]["application/json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/Error"}, (path, method)


def test_order_schema_shows_decimals_as_strings(schema_json):
    schemas = schema_json["components"]["schemas"]
    order = schemas["Order"]["properties"]

    assert order["price"]["type"] == "string"
    assert order["price"]["format"] == "decimal"
    assert order["placed_at"]["format"] == "date-time"
    assert schemas["OrderStatusEnum"]["enum"] == Status.values


def test_docs_page_loads_swagger_ui_from_vendored_files(client):
    response = client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/vendor/swagger-ui/swagger-ui.css" in html
    assert "cdn" not in html.lower()
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
    assert "<script>" not in html.replace(" ", "")


@pytest.mark.parametrize(
    "name", ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"]
)
def test_vendored_swagger_ui_files_are_static_files(name):
    assert finders.find(f"vendor/swagger-ui/{name}")


# Fuzz ------------------------------------------------------------------------------

# Every operation with valid input, and with invalid input where it takes any.
FUZZED = sorted(
    (method, path, mode)
    for path, methods in DESIGNED.items()
    for method in methods
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if (method, path, mode) != ("post", "/api/v1/trades/", GenerationMode.NEGATIVE)
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@contextmanager
def connection_kept_open():
    """As Django's test client does: a request must not close the connection that holds
    the test's transaction (the test client reconnects the signal after each request)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def fuzz_schema():
    """The served schema, loaded through the WSGI app that the fuzz then calls."""
    with connection_kept_open():
        return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def staff_token(staff_user, monkeypatch, settings):
    """A staff token, with one order and one queued buy so generated ids can hit something.

    POST /sync/ runs a stand-in for the sync area's run_sync. No request may wait for
    events (a long poll answers 503 at once): the test's transaction is invisible to
    the listener, and waits of up to 30 s would only slow the fuzz.
    """
    settings.ORDERSTATE_EVENT_WAITERS = 0
    monkeypatch.setattr(
        sync,
        "run_sync",
        lambda *args, **kwargs: SyncRun.objects.create(broker="paper", outcome=SyncOutcome.OK),
        raising=False,
    )
    client = api_client_for(staff_user)
    register(client)
    client.post("/api/v1/failed-orders/", {"symbol": "TCS", "quantity": 1}, format="json")
    return ApiToken.issue(staff_user)[1]


@pytest.mark.parametrize(("method", "path", "mode"), FUZZED)
def test_fuzz_no_5xx_and_answers_match_the_schema(fuzz_schema, staff_token, method, path, mode):
    operation = fuzz_schema[path][method.upper()]

    @given(case=operation.as_strategy(mode))
    @seed(20261125)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        response = case.call(headers={"Authorization": f"Token {staff_token}"})
        assert response.status_code < 500, response.text[:500]
        case.validate_response(response, checks=CHECKS)

    with connection_kept_open():
        call()
