"""Make an API token for a user (created if needed) and print its key, once."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orderstate.models.auth import ApiToken

READ_MODELS = ("order", "orderevent", "fill", "trade", "failedorder", "syncrun")
WRITE_CODENAMES = ("change_order",)
MAX_ACCOUNT_LENGTH = ApiToken._meta.get_field("account").max_length


def grant(user, codenames):
    permissions = Permission.objects.filter(
        content_type__app_label="orderstate", codename__in=codenames
    )
    user.user_permissions.add(*permissions)


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME (and the user, with view or change permission, "
        "if missing). Prints the key on stdout; it cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--read-only", action="store_true", help="the token can read but never write"
        )
        parser.add_argument("--account", help="only this account's orders (default: all)")
        parser.add_argument("--expires-days", type=int, help="expire after N days (default: never)")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'sell bot'")

    def handle(self, *args, username, read_only, account, expires_days, name, **options):
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days")
        if account is not None:
            account = account.strip()
            if not account or len(account) > MAX_ACCOUNT_LENGTH:
                raise CommandError(f"--account must be 1 to {MAX_ACCOUNT_LENGTH} characters")
        username = username.strip()
        if not username:
            raise CommandError("USERNAME must not be empty")
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username)
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            if not user.is_active:
                raise CommandError(f"user {username} is inactive; activate it first")
            codenames = [f"view_{model}" for model in READ_MODELS]
            if not read_only:
                codenames += WRITE_CODENAMES
            grant(user, codenames)
            token, key = ApiToken.issue(
                user,
                name=name[:100],
                account=account,
                read_only=read_only,
                expires_in=timedelta(days=expires_days) if expires_days else None,
            )
        scope = f"account {account}" if account else "all accounts"
        mode = "read-only" if read_only else "read-write"
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "no expiry"
        )
        self.stderr.write(
            f"{'Created user ' + username + '. ' if created else ''}"
            f"Token {token.prefix} for {username}: {mode}, {scope}, {expiry}. "
            "Keep the key below; it is not stored and cannot be shown again."
        )
        self.stdout.write(key)
