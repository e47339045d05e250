"""The Django admin: every model listed, nothing of the order state edited by hand.

`model_admins` registers the models; `corrections` holds the admin actions
that change order state, each through the actions with the staff user as actor;
`notifications` registers subscriptions (secrets write-only) and the outbox;
`positions` lists the ledger's positions with the answers to a positions mismatch.
"""

from orderstate.admin import model_admins, notifications, positions  # noqa: F401  (registers the models)
