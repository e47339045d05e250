from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from orderstate.models.auth import ApiToken

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader"
DEMO_TOKEN_NAME = "demo login"


class Command(BaseCommand):
    help = "Create the demo staff login (local demo only) and print it with an API token."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host, port, **options):
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        # Keys are stored hashed, so the previous demo key cannot be shown again:
        # retire it and print a fresh one.
        user.api_tokens.filter(name=DEMO_TOKEN_NAME, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        _, key = ApiToken.issue(user, name=DEMO_TOKEN_NAME)
        url = f"http://{host}:{port}/"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  orderstate is at   {url}",
                    f"  log in as          {DEMO_USERNAME} / {DEMO_PASSWORD}",
                    f"  API token          {key}",
                    f"  try                curl -H 'Authorization: Token {key}' "
                    f"{url}api/v1/orders/",
                    "",
                ]
            )
        )
