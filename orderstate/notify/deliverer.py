"""The deliverer: due outbox messages sent a few at a time, their outcomes written back.

The database work (claims, rendering, outcomes) stays in the calling thread; only
the HTTP sends run in a small thread pool, so a receiver that hangs holds one
slot until its timeout while the other subscriptions' messages keep flowing.
"""

import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import httpx
from django.conf import settings
from django.utils import timezone

from orderstate.models import Channel
from orderstate.notify import claims, results, senders
from orderstate.notify.messages import telegram_text
from orderstate.notify.payload import encode, event_document

log = logging.getLogger(__name__)

PASS_SECONDS = 60  # a pass stops claiming after this long (SQLite's lock is taken per pass)
POLL_SECONDS = 0.5


class Deliverer:
    """Sends outbox messages from this process; `deliver_due()` is one pass.

    `clock` (default `timezone.now`) and `rng` let tests move time and fix jitter.
    Call `close()` when done: it finishes the sends under way.
    """

    def __init__(self, *, concurrency=None, timeout=None, clock=timezone.now, rng=random):
        self.concurrency = concurrency or settings.ORDERSTATE_NOTIFY_CONCURRENCY
        self.timeout = timeout or settings.ORDERSTATE_NOTIFY_TIMEOUT_SECONDS
        self.clock = clock
        self.rng = rng
        self.name = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        limits = httpx.Limits(
            max_connections=2 * self.concurrency, max_keepalive_connections=2 * self.concurrency
        )
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=False, limits=limits)
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="notify-send")
        self.in_flight = {}  # Future -> OutboxMessage
        self.rotation = 0

    def deliver_due(self, stopping=lambda: False, max_seconds=PASS_SECONDS):
        """Send the messages due when the pass starts; returns counts (claimed, delivered,
        failed, dead).

        A message that fails during the pass waits for a later pass, however short
        its backoff, so a dead receiver is not hammered. `stopping()` true ends
        the claiming; the sends under way are finished and recorded first.
        """
        cutoff = self.clock()
        deadline = time.monotonic() + max_seconds
        counts = Counter()
        while True:
            if not stopping() and time.monotonic() < deadline:
                counts["claimed"] += self._claim_more(cutoff)
            if not self.in_flight:
                return counts
            done, _ = wait(list(self.in_flight), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            if done:
                counts.update(self._record(done))

    def close(self):
        """Finish and record the sends under way, then let go of threads and connections."""
        while self.in_flight:
            done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED)
            self._record(done)
        self.pool.shutdown()
        self.client.close()

    def _claim_more(self, cutoff):
        free = self.concurrency - len(self.in_flight)
        if free <= 0:
            return 0
        in_flight = Counter(message.subscription_id for message in self.in_flight.values())
        self.rotation += 1
        messages = claims.claim(
            self.name,
            free,
            cutoff=cutoff,
            now=self.clock(),
            concurrency=self.concurrency,
            in_flight=in_flight,
            rotation=self.rotation,
        )
        for message in messages:
            self.in_flight[self._start(message)] = message
        return len(messages)

    def _start(self, message):
        try:
            target = build_target(message)
        except Exception as exc:  # a bug in rendering must not stop the other messages
            log.exception("notify: cannot build message %s", message.pk)
            failed = Future()
            failed.set_result(senders.Outcome(False, f"cannot build the message: {exc!r}"[:300]))
            return failed
        return self.pool.submit(senders.send, self.client, target, self.timeout)

    def _record(self, done):
        outcomes = [(self.in_flight.pop(future), future.result()) for future in done]
        return results.record(self.name, outcomes, self.clock(), self.rng)


def build_target(message):
    """What to send for an outbox message: a signed webhook body, or a Telegram text."""
    subscription, event = message.subscription, message.event
    if subscription.channel == Channel.WEBHOOK:
        body = encode(event_document(event, message.account))
        return senders.Webhook(subscription.url, subscription.secret, event.pk, body)
    return senders.TelegramMessage(
        settings.TELEGRAM_API_BASE,
        subscription.bot_token,
        subscription.chat_id,
        telegram_text(event, message.account),
    )
