"""The event feed over HTTP: the audit log in commit order, read on from a cursor, long-polled.

A bot keeps `next_after` and asks again with it; `wait` holds the request until
an event settles (the listener wakes it) or the wait is over. A token scoped to
an account sees that account's events only.
"""

import logging
import time

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from orderstate.api.base import ApiMixin
from orderstate.api.event_serializers import (
    LATEST,
    EventFeedQuery,
    EventPageSerializer,
    EventSerializer,
)
from orderstate.api.permissions import CanReadOrders
from orderstate.api.schema import errors
from orderstate.event_feed import settled
from orderstate.event_feed.listener import TooManyWaiters, listener

log = logging.getLogger(__name__)


class WaitersFull(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "too_many_waiters"
    default_detail = "This server process holds as many waiting requests as it may; retry."
    wait = 1  # seconds, sent as Retry-After


class EventFeedView(ApiMixin, APIView):
    """Events after a cursor, oldest first; with `wait`, a long poll."""

    permission_classes = [CanReadOrders]

    @extend_schema(
        summary="Audit events after a cursor, in commit order; long poll with `wait`",
        description=(
            "Answers the events after `after` (an event id this feed gave, 0 for the start, "
            "`latest` for from now on), at most `limit`, oldest first, and `next_after`: the "
            "`after` of the next call. No event is ever skipped or given twice along that "
            "chain, even when two transactions commit in the other order than they were "
            "written. With `wait` (seconds, at most 30) and nothing new, the answer comes as "
            "soon as an event commits, or empty when the wait is over. A token scoped to an "
            "account sees that account's events only."
        ),
        parameters=[EventFeedQuery],
        responses={200: EventPageSerializer, **errors(400, 401, 403, 405, 503)},
    )
    def get(self, request):
        query = EventFeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        account = self._account(params.get("account"))
        page = self._page(
            self._position(params["after"]),
            account=account,
            kinds=params.get("kind", frozenset()),
            limit=params["limit"],
            deadline=time.monotonic() + float(params["wait"]),
        )
        results = EventSerializer(page.events, many=True).data
        return Response({"results": results, "next_after": page.next.id})

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, WaitersFull):
            # The limit doing its job, not a fault: one warning, not django.request's error.
            log.warning("event feed: long poll turned away, this process's waiters are full")
            response._has_been_logged = True
        return response

    def _account(self, requested):
        scoped = getattr(self.request.auth, "account", None)
        if scoped and requested and requested != scoped:
            raise PermissionDenied(f"This token may only read account {scoped!r}.")
        return scoped or requested

    def _position(self, after):
        if after == LATEST:
            return settled.horizon().last
        if after == 0:
            return settled.START
        position = listener.position_of(after) or settled.position_of(after)
        if position is None:
            raise ValidationError({"after": [f"no event with id {after}"]})
        return position

    def _page(self, after, *, deadline, **wanted):
        # A bot asking again right after its last answer: the listener of this process
        # holds every event since, so the request waits there without a query.
        if time.monotonic() < deadline and listener.covers(after):
            waited = self._wait(after, deadline, wanted)
            if waited is not None:
                return waited
        page = settled.read(after, **wanted)
        while not page.events and time.monotonic() < deadline:
            waited = self._wait(page.next, deadline, wanted)
            if waited is not None:
                return waited
            # The listener does not hold everything since `page.next`: read it here.
            page = settled.read(page.next, **wanted)
        return page

    def _wait(self, after, deadline, wanted):
        if not connection.in_atomic_block:
            connection.close()  # a waiting request holds no database connection
        try:
            return listener.wait(after, deadline=deadline, **wanted)
        except TooManyWaiters:
            raise WaitersFull() from None
