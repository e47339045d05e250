"""`manage.py list_subscriptions`: every notification target, its kinds and delivery health.

Secrets and bot tokens are never shown.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from orderstate.display import ist, short_duration
from orderstate.notify import subscriptions


class Command(BaseCommand):
    help = "List notification subscriptions: target, kinds, last delivery, backlog, dead letters."

    def handle(self, *args, **options):
        rows = subscriptions.overview()
        if not rows:
            self.stdout.write("No subscriptions. Add one with add_webhook or add_telegram.")
            return
        now = timezone.now()
        for row in rows:
            sub = row.subscription
            state = "active" if sub.active else "off"
            if sub.consecutive_failures:
                state = f"failing x{sub.consecutive_failures}: {sub.last_error}"
            waiting = f"{row.pending} waiting"
            if row.oldest_pending is not None:
                waiting += f" (oldest {short_duration(now - row.oldest_pending)})"
            self.stdout.write(
                f"{sub.pk:>4}  {sub.name}  {sub.channel}  {sub.target}\n"
                f"      kinds {','.join(sub.kinds)}; {sub.account or 'all accounts'}; {state}\n"
                f"      last delivered {ist(sub.last_delivered_at)}; {waiting}; {row.dead} dead"
            )
