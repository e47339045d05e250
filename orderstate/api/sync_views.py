"""Broker syncs over HTTP: run one now (staff), read the history."""

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
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
        summary="Run one broker sync now (staff only)",
        description="Answers with the stored run; `outcome` is ok, failed, or skipped when "
        "another sync holds the lock.",
        request=s.SyncRequestSerializer,
        responses={200: s.SyncRunSerializer, **errors(400, 401, 403, 405, 415)},
    )
    def post(self, request):
        data = self.parse(s.SyncRequestSerializer)
        # The sync changes the broker account's orders: a token scoped to another
        # account may not set that off.
        account = self.write_account(settings.ORDERSTATE_DEFAULT_ACCOUNT)
        run = sync.run_sync(
            dry_run=data["dry_run"], actor=request.user, source=EventSource.API, account=account
        )
        return Response(s.SyncRunSerializer(run).data)


@extend_schema_view(
    list=extend_schema(
        summary="Sync history, newest first",
        responses={200: s.SyncRunSerializer(many=True), **errors(*LIST)},
    )
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
