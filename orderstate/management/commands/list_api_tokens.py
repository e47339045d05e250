"""List API tokens (never their keys, which are not stored) with their scope and state."""

from django.core.management.base import BaseCommand

from orderstate.models.auth import ApiToken

COLUMNS = ("prefix", "user", "name", "account", "mode", "state", "expires", "last used")


def _when(value):
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    help = "List API tokens: prefix, user, name, account scope, read-only, state, expiry, last use."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="only this user's tokens")
        parser.add_argument(
            "--all", action="store_true", dest="include_all", help="include revoked and expired"
        )

    def handle(self, *args, username, include_all, **options):
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "created_at")
        if username:
            tokens = tokens.filter(user__username=username)
        if not include_all:
            tokens = tokens.usable()
        rows = [
            (
                token.prefix,
                token.user.username,
                token.name or "-",
                token.account or "(all)",
                "read-only" if token.read_only else "read-write",
                token.state,
                _when(token.expires_at),
                _when(token.last_used_at),
            )
            for token in tokens
        ]
        widths = [max(len(str(row[i])) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        for row in [COLUMNS, *rows]:
            self.stdout.write(
                "  ".join(
                    str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
