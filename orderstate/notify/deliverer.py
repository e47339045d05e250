"""The deliverer: due outbox messages sent a few at a time, their outcomes written back.

The database work (claims, rendering, outcomes) stays in the calling thread; only
the HTTP sends run in a small thread pool. Claimed messages wait in a queue per
subscription and are handed to the pool in turn, two per thread at most, so the
threads keep sending while this thread writes outcomes (in batches) and claims
more, and one target's backlog never shuts another out. A target that fails gets one send
at a time, and what was queued for it goes back to the outbox.
"""

import logging
import os
import random
import socket
import time
import uuid
from collections import Counter, defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

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
# Outcomes are written in batches: one transaction for up to this many, or this long.
RECORD_BATCH = 64
RECORD_SECONDS = 0.2


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
        # A claimed message waits its turn behind at most a few sends per thread.
        self.lease = timedelta(seconds=10 * self.timeout + 30)
        self.submit_limit = 2 * self.concurrency
        self.claim_limit = 8 * self.concurrency
        limits = httpx.Limits(max_connections=self.submit_limit, max_keepalive_connections=16)
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=False, limits=limits)
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="notify-send")
        self.queued = defaultdict(deque)  # subscription id -> claimed messages not yet sent
        self.running = {}  # Future -> OutboxMessage
        self.finished = []  # (OutboxMessage, Outcome) not yet written
        self.finished_since = 0.0
        self.failing = set()  # subscription ids that failed in this process: one send at a time
        self.failed_this_pass = set()  # ... and those that failed in this pass: no more sends
        self.claimed_up_to = {}
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
        self.failed_this_pass = set()
        self.claimed_up_to = {}  # subscription id -> (next_attempt_at, id) last claimed
        while True:
            claiming = not stopping() and time.monotonic() < deadline
            if claiming and self._queued_count() < self.concurrency * 2:
                counts["claimed"] += self._claim_more(cutoff)
            if not claiming:
                self._release_queued()
            self._dispatch()
            if not self.running and not self.finished:
                return counts
            self._collect(timeout=POLL_SECONDS)
            if self.finished and (
                len(self.finished) >= RECORD_BATCH
                or not self.running
                or time.monotonic() - self.finished_since >= RECORD_SECONDS
            ):
                counts.update(self._record())

    def close(self):
        """Give back what was claimed but not sent, finish the sends under way, let go."""
        self._release_queued()
        while self.running:
            self._collect(timeout=None)
        if self.finished:
            self._record()
        self.pool.shutdown()
        self.client.close()

    def _collect(self, timeout):
        """Move finished sends out of `running` (so more can start) into `finished`."""
        if not self.running:
            return
        done, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        if done and not self.finished:
            self.finished_since = time.monotonic()
        outcomes = [(self.running.pop(future), future.result()) for future in done]
        self.finished.extend(outcomes)
        for message, outcome in outcomes:
            if outcome.delivered:
                self.failing.discard(message.subscription_id)
            else:
                self.failed_this_pass.add(message.subscription_id)
                if message.subscription_id not in self.failing:
                    # Failing now: one send at a time, and what waits for it goes back.
                    self.failing.add(message.subscription_id)
                    self._release_queued(message.subscription_id)

    def _queued_count(self):
        return sum(len(queue) for queue in self.queued.values())

    def _held(self):
        """Messages this deliverer holds (queued, sending, or sent but not written), by
        subscription id."""
        held = Counter({pk: len(queue) for pk, queue in self.queued.items()})
        held.update(message.subscription_id for message in self.running.values())
        held.update(message.subscription_id for message, _ in self.finished)
        return held

    def _claim_more(self, cutoff):
        room = self.claim_limit - self._queued_count() - len(self.running)
        if room <= 0:
            return 0
        self.rotation += 1
        messages = claims.claim(
            self.name,
            room,
            cutoff=cutoff,
            now=self.clock(),
            lease=self.lease,
            per_target=self.claim_limit,
            held=self._held(),
            failing=self.failing,
            resting=self.failed_this_pass,
            after=self.claimed_up_to,
            rotation=self.rotation,
        )
        for message in messages:
            self.queued[message.subscription_id].append(message)
            self.claimed_up_to[message.subscription_id] = (message.next_attempt_at, message.pk)
        return len(messages)

    def _dispatch(self):
        """Hand queued messages to the pool, a subscription at a time in turn."""
        sending = Counter(message.subscription_id for message in self.running.values())
        while len(self.running) < self.submit_limit:
            ready = [
                pk
                for pk, queue in self.queued.items()
                if queue and sending[pk] < self._cap(queue[0].subscription)
            ]
            if not ready:
                return
            for pk in ready:
                if len(self.running) >= self.submit_limit:
                    return
                message = self.queued[pk].popleft()
                self.running[self._start(message)] = message
                sending[pk] += 1

    def _cap(self, subscription):
        return 1 if claims.one_at_a_time(subscription, self.failing) else self.submit_limit

    def _start(self, message):
        try:
            target = build_target(message)
        except Exception as exc:  # a bug in rendering must not stop the other messages
            log.exception("notify: cannot build message %s", message.pk)
            failed = Future()
            failed.set_result(senders.Outcome(False, f"cannot build the message: {exc!r}"[:300]))
            return failed
        return self.pool.submit(senders.send, self.client, target, self.timeout)

    def _record(self):
        outcomes, self.finished = self.finished, []
        return results.record(self.name, outcomes, self.clock(), self.rng)

    def _release_queued(self, subscription_id=None):
        pks = [subscription_id] if subscription_id is not None else list(self.queued)
        messages = [message for pk in pks for message in self.queued.pop(pk, ())]
        if messages:
            claims.release(self.name, messages)


def build_target(message):
    """What to send for an outbox message: a signed webhook body, or a Telegram text."""
    subscription, event = message.subscription, message.event
    if subscription.channel == Channel.WEBHOOK:
        body = encode(event_document(event))
        return senders.Webhook(subscription.url, subscription.secret, event.pk, body)
    return senders.TelegramMessage(
        settings.TELEGRAM_API_BASE,
        subscription.bot_token,
        subscription.chat_id,
        telegram_text(event, message.account),
    )
