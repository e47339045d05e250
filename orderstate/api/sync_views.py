"""Broker syncs over HTTP: run one now (staff), read the history."""

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
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
        summary="Run one broker sync now (staff only)",
        description="Answers with the stored run; `outcome` is ok, failed, or skipped when "
        "another sync holds the lock.",
        request=s.SyncRequestSerializer,
        responses={200: s.SyncRunSerializer, **errors(400, 401, 403, 405, 415)},
    )
    def post(self, request):
        data = self.parse(s.SyncRequestSerializer)
        run = sync.run_sync(
            dry_run=data["dry_run"],
            actor=request.user,
            source=EventSource.API,
            account=settings.ORDERSTATE_DEFAULT_ACCOUNT,
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

    def get_queryset(self):
        # A run (a dry run's plan lists order ids) is seen only by who may see its account.
        return scoped_orders(self.request, SyncRun.objects.all())

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.SyncRunSerializer)
