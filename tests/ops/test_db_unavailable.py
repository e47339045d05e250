"""The database going away mid-request answers 503 (JSON for the API), never a 500."""

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.urls import path

from orderstate.models import Order

pytestmark = pytest.mark.urls(__name__)


def count_orders(request):
    return JsonResponse({"orders": Order.objects.count()})


def broken_database(request):
    raise OperationalError("server closed the connection unexpectedly")


def closed_connection(request):
    raise InterfaceError("connection already closed")


def terminate_own_backend(request):
    """Count once, have a second connection kill this one's backend, count again."""
    import psycopg

    Order.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])
    return JsonResponse({"orders": Order.objects.count()})


urlpatterns = [
    path("api/v1/orders/", count_orders),
    path("api/v1/broken/", broken_database),
    path("api/v1/closed/", closed_connection),
    path("api/v1/terminate/", terminate_own_backend),
    path("healthz", broken_database),
    path("dashboard/broken/", broken_database),
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/broken/", "/api/v1/closed/", "/healthz"])
def test_api_answers_503_json_with_retry_after(client, url):
    response = client.get(url)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_pages_answer_a_plain_503_page_without_the_error(client):
    response = client.get("/dashboard/broken/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Service unavailable" in body
    assert "server closed the connection" not in body
    assert "Traceback" not in body


@pytest.mark.django_db
def test_the_error_is_logged_once_without_a_stack_trace(client, caplog):
    client.get("/api/v1/broken/")
    records = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert len(records) == 1
    assert "database unavailable during GET /api/v1/broken/" in records[0].getMessage()
    assert records[0].exc_info is None


@pytest.mark.django_db
def test_a_queryset_failing_inside_a_view_gives_503(client, monkeypatch):
    def fail(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr("django.db.models.query.QuerySet.count", fail)
    response = client.get("/api/v1/orders/")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.django_db
def test_other_errors_are_left_to_django(client):
    from orderstate.ops.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    assert middleware.process_exception(None, ValueError("bug")) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_backend_terminated_mid_request_gives_503_then_recovers(client):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    response = client.get("/api/v1/terminate/")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    # Without the test client's special-casing, Django drops the broken
    # connection when the request finishes; do what request_finished does.
    following = client.get("/api/v1/orders/")
    assert following.status_code in (200, 503)
    connection.close_if_unusable_or_obsolete()
    recovered = client.get("/api/v1/orders/")
    assert recovered.status_code == 200
    assert recovered.json() == {"orders": 0}
