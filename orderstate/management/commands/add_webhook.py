"""`manage.py add_webhook URL --secret S --kinds fill,executed [--account A]`: a signed webhook.

Without --secret (or --secret-file) a secret is made and printed once; a secret
given is never printed back.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orderstate.errors import ValidationError
from orderstate.notify import subscriptions


class Command(BaseCommand):
    help = (
        "Subscribe a webhook URL to event kinds. Each event is POSTed as JSON, signed "
        "X-Orderstate-Signature: sha256=<HMAC-SHA256 of the body with the secret>."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", help="http:// or https:// URL that receives the POSTs")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--secret", help="signing secret, 16-200 characters (default: made)")
        secret.add_argument("--secret-file", help="read the signing secret from this file")
        parser.add_argument(
            "--kinds",
            required=True,
            help=f"comma-separated: {', '.join(subscriptions.KIND_NAMES)}; or all",
        )
        parser.add_argument("--account", default="", help="only this account's events")
        parser.add_argument("--name", default="", help="a name to recognise it by")
        parser.add_argument(
            "--no-resolve", action="store_true", help="accept a host that does not resolve yet"
        )

    def handle(self, *args, url, secret, secret_file, kinds, account, name, no_resolve, **opts):
        made = secret is None and secret_file is None
        if secret_file:
            secret = Path(secret_file).read_text(encoding="utf-8").strip()
        elif made:
            secret = subscriptions.new_secret()
        try:
            subscription = subscriptions.add_webhook(
                url, secret, kinds, account=account.strip(), name=name, resolve=not no_resolve
            )
        except ValidationError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(describe(subscription))
        if made:
            self.stderr.write("Signing secret (shown once; give it to the receiver):")
            self.stdout.write(secret)


def describe(subscription):
    scope = f"account {subscription.account}" if subscription.account else "all accounts"
    return (
        f"Subscription {subscription.pk} {subscription.name!r}: {','.join(subscription.kinds)} "
        f"-> {subscription.target} ({scope})"
    )
