"""The Django admin: every model listed, nothing of the order state edited by hand.

`model_admins` registers the models; `corrections` holds the admin actions
that change order state, each through the actions with the staff user as actor;
`notifications` registers subscriptions (secrets write-only) and the outbox.
"""

from orderstate.admin import model_admins, notifications  # noqa: F401  (register the models)
