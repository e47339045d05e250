"""Kotak for tests/bench/bench_feed.py's `stream_orders` process: the real SDK and its websocket
client, with the REST side (login, order book) answered locally and no network.

Selected with `stream_orders --broker tests.bench.feed_broker.LocalKotak`; the feed's
URL comes from KOTAK_FEED_URL (the benchmark's local server) and the order book the
full syncs read from the JSON file named by BENCH_FEED_BOOK.
"""

import json
import os

import httpx

from orderstate.brokers.kotak import KotakBroker
from tests.feed.kotak_fakes import CREDENTIALS, KotakRest

BOOK_ENV = "BENCH_FEED_BOOK"


class LocalKotak(KotakBroker):
    def __init__(self):
        with open(os.environ[BOOK_ENV], encoding="utf-8") as book:
            rest = KotakRest(book=json.load(book))
        super().__init__(
            CREDENTIALS, transport=httpx.MockTransport(rest), attempts=1, sleep=lambda _: None
        )
