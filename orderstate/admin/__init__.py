"""The Django admin: every model listed, nothing of the order state edited by hand.

`model_admins` registers the models; `corrections` holds the admin actions
that change order state, each through the actions with the staff user as actor.
"""

from orderstate.admin import model_admins  # noqa: F401  (registers the models)
