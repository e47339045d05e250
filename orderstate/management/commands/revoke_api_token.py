"""Revoke API tokens by their prefix (the part of the key before the dot)."""

from django.core.management.base import BaseCommand, CommandError

from orderstate.models.auth import ApiToken, split_key


class Command(BaseCommand):
    help = "Revoke API tokens by prefix (or by whole key); a revoked token answers 401 at once."

    def add_arguments(self, parser):
        parser.add_argument("prefixes", nargs="+", metavar="PREFIX")

    def handle(self, *args, prefixes, **options):
        missing = []
        for text in prefixes:
            text = text.strip()
            prefix = split_key(text) or text
            token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
            if token is None:
                missing.append(text)
            elif token.revoke():
                self.stdout.write(f"revoked {token.prefix} ({token.user})")
            else:
                self.stdout.write(f"{token.prefix} ({token.user}) was already revoked")
        if missing:
            raise CommandError(f"no token with prefix {', '.join(missing)}")
