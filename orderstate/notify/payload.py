"""What a webhook receives: the event as JSON, signed with the subscription's secret.

The document has the shape of the event feed (`GET /api/v1/events/`), so a
receiver and the bot read the same thing. The signature is over the raw body
bytes, exactly as sent.
"""

import hashlib
import hmac
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

EVENT_ID_HEADER = "X-Orderstate-Event-Id"
SIGNATURE_HEADER = "X-Orderstate-Signature"


def event_document(event):
    """The event as a dict, the fields of the feed's `EventSerializer`."""
    order = event.order
    return {
        "id": event.pk,
        "at": timezone.localtime(event.at).isoformat(),
        "kind": event.kind,
        "account": event.account,
        "order": order.broker_order_id if order is not None else None,
        "symbol": event.symbol,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "source": event.source,
        "actor": event.actor.get_username() if event.actor is not None else None,
        "data": event.data or {},
    }


def encode(document):
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signature(secret, body):
    """`sha256=<hex HMAC-SHA256 of body keyed with secret>`, the signature header's value."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
