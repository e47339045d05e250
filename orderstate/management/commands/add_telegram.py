"""`manage.py add_telegram --bot-token T --chat-id C --kinds ...`: messages to a Telegram chat.

The bot token is stored for sending and never shown again.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orderstate.errors import ValidationError
from orderstate.management.commands.add_webhook import describe
from orderstate.notify import subscriptions


class Command(BaseCommand):
    help = (
        "Subscribe a Telegram chat to event kinds: a bot (from @BotFather) sends a short "
        "message per event, money in rupees, times in IST."
    )

    def add_arguments(self, parser):
        token = parser.add_mutually_exclusive_group(required=True)
        token.add_argument("--bot-token", help="the bot's token, 123456789:AA...")
        token.add_argument("--bot-token-file", help="read the bot token from this file")
        parser.add_argument(
            "--chat-id", required=True, help="numeric chat id (see README) or @channelname"
        )
        parser.add_argument(
            "--kinds",
            required=True,
            help=f"comma-separated: {', '.join(subscriptions.KIND_NAMES)}; or all",
        )
        parser.add_argument("--account", default="", help="only this account's events")
        parser.add_argument("--name", default="", help="a name to recognise it by")

    def handle(self, *args, bot_token, bot_token_file, chat_id, kinds, account, name, **options):
        if bot_token_file:
            bot_token = Path(bot_token_file).read_text(encoding="utf-8").strip()
        try:
            subscription = subscriptions.add_telegram(
                bot_token, chat_id, kinds, account=account.strip(), name=name
            )
        except ValidationError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(describe(subscription))
