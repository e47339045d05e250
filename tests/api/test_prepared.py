"""The API's prepared lookups answer exactly what their querysets would, in one query."""

import pytest
from django.db.models import Count

from orderstate.api.authentication import find_token
from orderstate.api.prepared import PreparedQuery
from orderstate.models import Order
from orderstate.models.auth import ApiToken
from tests.api.bodies import register
from tests.clients import api_client_for

BY_ID = PreparedQuery(lambda order_id: Order.objects.filter(broker_order_id=order_id)[:2])
BY_ID_AND_ACCOUNT = PreparedQuery(
    lambda order_id, account: Order.objects.filter(account=account, broker_order_id=order_id)[:2]
)


def values(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


@pytest.fixture
def orders(manager):
    manager.register_sell_order("RELIANCE", "A-1", "2500.05", 10, ticker="RELIANCE.NS", rsi10=28.4)
    manager.register_buy_order("TCS", "B-2", "3100.00", 5)
    manager.record_fill("B-2", 2, "3099.9500", "F-1")
    return Order.objects.order_by("id")


@pytest.mark.django_db
def test_prepared_query_gives_the_querysets_objects_with_converted_values(orders):
    for order in orders:
        (prepared,) = BY_ID(order.broker_order_id)
        assert values(prepared) == values(order)
        assert prepared._state.adding is False
        assert prepared._state.db == "default"


@pytest.mark.django_db
def test_prepared_query_puts_each_value_in_its_place(orders):
    assert [o.broker_order_id for o in BY_ID_AND_ACCOUNT("A-1", "default")] == ["A-1"]
    assert BY_ID_AND_ACCOUNT("A-1", "other") == []
    assert BY_ID("nothing") == []


@pytest.mark.django_db
def test_prepared_query_reads_rows_written_after_it_was_compiled(manager):
    assert BY_ID("C-3") == []
    manager.register_sell_order("INFY", "C-3", "1500.00", 1)
    assert [o.base_symbol for o in BY_ID("C-3")] == ["INFY"]


@pytest.mark.django_db
def test_prepared_query_is_one_query_even_with_select_related(trader, django_assert_num_queries):
    _, key = ApiToken.issue(trader)
    find_token(key)  # compiled here
    with django_assert_num_queries(1):
        token = find_token(key)
        assert token.user.username == trader.username


@pytest.mark.django_db
def test_find_token_answers_as_the_model_does(trader):
    _, key = ApiToken.issue(trader, account="acc", read_only=True)
    prefix, _, secret = key.partition(".")
    for candidate in (key, f"{prefix}.{secret[:-1]}x", f"00000000.{secret}", "no-dot", ""):
        found, expected = find_token(candidate), ApiToken.find(candidate)
        assert (found and values(found)) == (expected and values(expected))
    assert values(find_token(key).user) == values(trader)


def test_prepared_query_refuses_what_it_cannot_run_the_same(db):
    annotated = PreparedQuery(
        lambda order_id: Order.objects.annotate(n=Count("fills")).filter(broker_order_id=order_id)
    )
    transformed = PreparedQuery(lambda text: Order.objects.filter(symbol__icontains=text))
    for query in (annotated, transformed):
        with pytest.raises(ValueError):
            query("x")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("order_id", "scope", "query", "status", "account"),
    [
        ("ONLY-A", None, None, 200, "a"),
        ("ONLY-A", "a", None, 200, "a"),
        ("ONLY-A", "b", None, 404, None),
        ("ONLY-A", "a", "a", 200, "a"),
        ("ONLY-A", "a", "b", 404, None),
        ("ONLY-A", None, "b", 404, None),
        ("ONLY-A", None, "", 404, None),
        ("ONLY-A", None, "a\x07", 404, None),
        ("IN-BOTH", None, None, 409, None),
        ("IN-BOTH", "b", None, 200, "b"),
        ("IN-BOTH", None, "a", 200, "a"),
        ("IN-BOTH", "b", "a", 404, None),
    ],
)
def test_order_lookup_narrows_by_token_account_and_account_parameter(
    trader, order_id, scope, query, status, account
):
    writer = api_client_for(trader)
    assert register(writer, broker_order_id="ONLY-A", account="a").status_code == 201
    for name in "ab":
        response = register(writer, broker_order_id="IN-BOTH", account=name, symbol=f"S{name}")
        assert response.status_code == 201
    params = {} if query is None else {"account": query}

    response = api_client_for(trader, account=scope).get(f"/api/v1/orders/{order_id}/", params)

    assert response.status_code == status
    if account:
        assert response.json()["account"] == account
