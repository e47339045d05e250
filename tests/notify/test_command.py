"""`manage.py deliver_notifications`: one pass, or a loop that SIGTERM ends between sends."""

import os
import signal
import subprocess
import sys
import threading

import pytest
from django.core.management import CommandError, call_command

from orderstate.manager import OrderStateManager
from orderstate.models import Delivery, OutboxMessage
from tests.notify.helpers import webhook
from tests.notify.receivers import Answer, Receiver
from tests.paths import ROOT
from tests.processes import database_url


@pytest.mark.django_db
def test_once_delivers_what_is_due_and_says_so(manager, capsys):
    with Receiver() as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")

        call_command("deliver_notifications", "--once")

    assert len(receiver.requests) == 1
    assert "deliver_notifications: delivered 1" in capsys.readouterr().out


@pytest.mark.django_db
def test_once_or_loop_must_be_chosen():
    with pytest.raises(CommandError, match="one of the arguments --once --loop is required"):
        call_command("deliver_notifications")


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_send_under_way_finish_and_be_recorded():
    arrived, answer_now = threading.Event(), threading.Event()

    def slow(request):
        arrived.set()
        answer_now.wait(60)
        return Answer(204)

    with Receiver(slow) as receiver:
        webhook(receiver.url, kinds=["executed"])
        bot = OrderStateManager(source="api")
        bot.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        bot.mark_order_executed("TCS", "B-1", "3900.00")
        env = {**os.environ, "SECRET_KEY": "x", "DEBUG": "false", "DATABASE_URL": database_url()}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        loop = subprocess.Popen(
            [sys.executable, "manage.py", "deliver_notifications", "--loop", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert arrived.wait(60), "the deliverer never sent the message"
            loop.send_signal(signal.SIGTERM)
            answer_now.set()
            out, err = loop.communicate(timeout=60)
        finally:
            answer_now.set()
            if loop.poll() is None:
                loop.kill()

    assert loop.returncode == 0, err
    assert "deliver_notifications: stopped" in out
    message = OutboxMessage.objects.get()
    assert (message.status, message.claimed_until) == (Delivery.DELIVERED, None)
    assert len(receiver.requests) == 1
