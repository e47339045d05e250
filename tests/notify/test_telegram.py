"""Telegram: a message a person reads, sent to a fake Bot API on 127.0.0.1
(TELEGRAM_API_BASE), backing off as a 429 says, and never showing the bot token."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import Delivery, OutboxMessage
from tests.notify.helpers import BOT_TOKEN, deliver, executed_sell, telegram
from tests.notify.receivers import Receiver, closed_port, telegram_error, telegram_ok

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_telegram(settings):
    with Receiver(telegram_ok) as server:
        settings.TELEGRAM_API_BASE = server.url
        yield server


def test_an_executed_sell_reads_with_rupees_pnl_and_ist(manager, fake_telegram):
    telegram(kinds=["executed"], chat_id="-1001234567890")
    executed_sell(manager)
    sell = OutboxMessage.objects.order_by("id").last().event

    deliver()

    texts = {r.json()["text"] for r in fake_telegram.requests}  # the buy's, and the sell's
    when = timezone.localtime(sell.at).strftime("%d %b %Y, %H:%M:%S IST")
    assert f"SELL RELIANCE 10 @ ₹2,500.00 executed · P&L ₹1,000.00\n{when} · order S-1" in texts
    assert all(r.path == f"/bot{BOT_TOKEN}/sendMessage" for r in fake_telegram.requests)
    assert {r.json()["chat_id"] for r in fake_telegram.requests} == {"-1001234567890"}
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}


def test_a_429_backs_off_exactly_as_long_as_telegram_says(manager, settings):
    answer = telegram_error(429, "Too Many Requests: retry after 7", retry_after=7)
    with Receiver(lambda request: answer) as server:
        settings.TELEGRAM_API_BASE = server.url
        chat = telegram(kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        now = timezone.now()
        deliver(clock=lambda: now)

    message = OutboxMessage.objects.get()
    chat.refresh_from_db()
    assert message.status == Delivery.PENDING
    assert message.next_attempt_at == now + timedelta(seconds=7)
    assert chat.paused_until == now + timedelta(seconds=7)
    assert message.last_error == "Telegram 429: Too Many Requests: retry after 7"


def test_a_chat_that_rests_after_a_429_is_not_tried_until_then(manager, settings):
    answer = telegram_error(429, "Too Many Requests: retry after 30", retry_after=30)
    with Receiver(lambda request: answer) as server:
        settings.TELEGRAM_API_BASE = server.url
        telegram(kinds=["fill"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.record_fill("B-1", 1, "3900.00", fill_id="a")
        manager.record_fill("B-1", 1, "3900.00", fill_id="b")
        now = timezone.now()
        deliver(clock=lambda: now)
        deliver(clock=lambda: now + timedelta(seconds=29))

    assert len(server.requests) == 1


def test_a_telegram_refusal_is_kept_as_the_error_and_retried(manager, settings):
    answer = telegram_error(400, "Bad Request: chat not found")
    with Receiver(lambda request: answer) as server:
        settings.TELEGRAM_API_BASE = server.url
        telegram(kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        deliver()

    message = OutboxMessage.objects.get()
    assert message.status == Delivery.PENDING
    assert message.last_error == "Telegram 400: Bad Request: chat not found"


@pytest.mark.parametrize("answer", ["refused", "echoes the token"])
def test_the_bot_token_is_never_logged_nor_kept_in_an_error(manager, settings, caplog, answer):
    if answer == "refused":
        settings.TELEGRAM_API_BASE = f"http://127.0.0.1:{closed_port()}"
        server = None
    else:
        server = Receiver(lambda request: telegram_error(401, f"Unauthorized {request.path}"))
        server.__enter__()
        settings.TELEGRAM_API_BASE = server.url
    try:
        chat = telegram(kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        with caplog.at_level(logging.DEBUG):
            deliver()
    finally:
        if server is not None:
            server.__exit__(None, None, None)

    chat.refresh_from_db()
    message = OutboxMessage.objects.get()
    assert message.last_error and chat.last_error
    for text in (caplog.text, message.last_error, chat.last_error):
        assert BOT_TOKEN not in text
    assert BOT_TOKEN.split(":")[1] not in caplog.text


def test_a_successful_send_logs_no_url_with_the_token(manager, fake_telegram, caplog):
    telegram(kinds=["executed"])
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")

    with caplog.at_level(logging.DEBUG):
        deliver()

    assert fake_telegram.requests
    assert BOT_TOKEN not in caplog.text
