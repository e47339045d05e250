"""Broker syncs over HTTP: ask for one now (staff), read the history.

A sync is not run inside the web worker (a slow broker login would outlast the
worker's timeout): `POST /sync/` stores a request the running `sync_broker
--loop` picks up within a second, and answers 202 with it; the run is then read
at `/sync-runs/{id}/`.
"""

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from orderstate import sync
from orderstate.api import serializers as s
from orderstate.api.base import ApiMixin
from orderstate.api.filters import SyncRunFilter
from orderstate.api.permissions import CanReadOrders, request_accounts, scoped_orders
from orderstate.api.schema import LIST, errors
from orderstate.auth.rules import may_see, may_start_sync
from orderstate.models import EventSource, SyncRun


class CanStartSync(BasePermission):
    """`rules.may_start_sync`, as the dashboard asks it; a read-only token never may."""

    message = "Only staff may start a sync."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated) or getattr(request.auth, "read_only", False):
            return False
        account = settings.ORDERSTATE_DEFAULT_ACCOUNT
        accounts = request_accounts(request)
        if user.is_staff and not may_see(accounts, account):
            self.message = (
                f"This token or user may only use account(s) {', '.join(sorted(accounts))}; "
                f"the sync changes account {account!r}."
            )
        return may_start_sync(user, accounts, account)


class SyncView(ApiMixin, APIView):
    """Reconcile with the broker now instead of waiting for the scheduled sync."""

    permission_classes = [CanStartSync]

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
        run = sync.request_sync(
            dry_run=data["dry_run"],
            actor=request.user,
            source=EventSource.API,
            account=settings.ORDERSTATE_DEFAULT_ACCOUNT,
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

    def get_queryset(self):
        # A run (a dry run's plan lists order ids) is seen only by who may see its account.
        return scoped_orders(self.request, SyncRun.objects.all())

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.SyncRunSerializer)

    def retrieve(self, request, pk=None):
        return Response(s.SyncRunSerializer(self.get_object()).data)
