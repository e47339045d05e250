"""Broker syncs over HTTP: ask for one now (staff), read the history.

A sync is not run inside the web worker (a slow broker login would outlast the
worker's timeout): `POST /sync/` stores a request the running `sync_broker
--loop` picks up within a second, and answers 202 with it; the run is then read
at `/sync-runs/{id}/`.
"""

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from orderstate import sync
from orderstate.api import serializers as s
from orderstate.api.base import ApiMixin
from orderstate.api.filters import SyncRunFilter
from orderstate.api.permissions import CanReadOrders, CanWriteOrders
from orderstate.api.schema import LIST, errors
from orderstate.models import EventSource, SyncRun


class SyncView(ApiMixin, APIView):
    """Reconcile with the broker now instead of waiting for the scheduled sync."""

    permission_classes = [IsAdminUser, CanWriteOrders]

    @extend_schema(
        summary="Ask for one broker sync now (staff only)",
        description="Answers 202 with the request: a sync run with `outcome` requested, which "
        "the running `sync_broker --loop` process picks up within a second. Read its result at "
        "`/api/v1/sync-runs/{id}/` (the `Location` header): `outcome` becomes running, then ok, "
        "failed, or skipped. A request no sync process picks up within "
        "ORDERSTATE_SYNC_REQUEST_TIMEOUT seconds is closed as failed.",
        request=s.SyncRequestSerializer,
        responses={202: s.SyncRunSerializer, **errors(400, 401, 403, 405, 415)},
    )
    def post(self, request):
        data = self.parse(s.SyncRequestSerializer)
        # The sync changes the broker account's orders: a token scoped to another
        # account may not set that off.
        account = self.write_account(settings.ORDERSTATE_DEFAULT_ACCOUNT)
        run = sync.request_sync(
            dry_run=data["dry_run"], actor=request.user, source=EventSource.API, account=account
        )
        # The documented address, with its slash (the route takes it either way).
        location = reverse("api:sync-run-detail", args=[run.pk], request=request) + "/"
        return Response(s.SyncRunSerializer(run).data, status=202, headers={"Location": location})


@extend_schema_view(
    list=extend_schema(
        summary="Sync history, newest first",
        responses={200: s.SyncRunSerializer(many=True), **errors(*LIST)},
    ),
    retrieve=extend_schema(
        summary="One sync run, or a requested one",
        responses={200: s.SyncRunSerializer, **errors(401, 403, 404)},
    ),
)
class SyncRunViewSet(ApiMixin, GenericViewSet):
    """Past broker syncs with their outcome and statistics."""

    serializer_class = s.SyncRunSerializer
    permission_classes = [CanReadOrders]
    filter_backends = [DjangoFilterBackend]
    filterset_class = SyncRunFilter
    queryset = SyncRun.objects.all()

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.SyncRunSerializer)

    def retrieve(self, request, pk=None):
        return Response(s.SyncRunSerializer(self.get_object()).data)
