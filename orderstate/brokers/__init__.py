"""Brokers the sync reads: an order book, and where the broker has them its trade book and
the account's holdings; `get_broker(name)` picks one."""

from django.conf import settings
from django.utils.module_loading import import_string

from orderstate.brokers.kotak import KotakBroker
from orderstate.brokers.paper import PaperBroker
from orderstate.brokers.replay import ReplayBroker

BROKER_NAMES = ("paper", "kotak", "replay")


def get_broker(name=None, *, file=None):
    """The broker called `name` (default `settings.ORDERSTATE_BROKER`).

    Kotak's SDK is imported only at its first login (it loads numpy and pandas).
    A dotted path (`package.module.Class`) names any other broker class, built with
    no arguments: a broker of one's own, or a test's.
    """
    name = (name or settings.ORDERSTATE_BROKER or "").strip()
    if "." in name:
        try:
            broker_class = import_string(name)
        except ImportError as exc:
            raise ValueError(f"broker {name!r} cannot be imported: {exc}") from None
        return broker_class()
    name = name.lower()
    if name == "paper":
        return PaperBroker()
    if name == "replay":
        return ReplayBroker(file or settings.ORDERSTATE_REPLAY_FILE)
    if name == "kotak":
        return KotakBroker.from_environment()
    choices = ", ".join(BROKER_NAMES)
    raise ValueError(
        f"unknown broker {name!r}: choose one of {choices} or a dotted path to a class"
    )
