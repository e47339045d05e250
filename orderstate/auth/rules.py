"""Who may do what, the same on every face (API, dashboard, metrics).

- Read orders: an active user who is staff or holds `orderstate.view_order`
  (or `change_order`, which implies it).
- Change orders: an active user who is staff or holds `orderstate.change_order`.
- Start a sync: staff who may change orders and may see the account it syncs.
- Which accounts: every account, unless the user has account grants
  (`AccountGrant`) or the API token is scoped to one account; then only those.
  A superuser is never narrowed by grants.

Permissions and grants come from one query per request, cached on the user.
"""

import functools

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from orderstate.models import AccountGrant

ORDER_PERMISSIONS = ("view_order", "change_order")
GRANT_PREFIX = "account:"


def may_read_orders(user):
    return user.is_active and (user.is_staff or bool(order_permissions(user)))


def may_change_orders(user):
    return user.is_active and (user.is_staff or "change_order" in order_permissions(user))


def may_start_sync(user, accounts, sync_account):
    """Staff who may change orders, when the synced account is one they may see."""
    return user.is_staff and may_change_orders(user) and may_see(accounts, sync_account)


def visible_accounts(user, token=None):
    """The accounts `user` (through `token`, when given) may see: None means every one."""
    accounts = granted_accounts(user)
    scoped = getattr(token, "account", None)
    if scoped:
        accounts = frozenset({scoped}) if accounts is None else accounts & {scoped}
    return accounts


def may_see(accounts, account):
    return accounts is None or account in accounts


def within(queryset, accounts, field="account"):
    """`queryset` narrowed to `accounts` (None: unchanged)."""
    return queryset if accounts is None else queryset.filter(**{f"{field}__in": accounts})


def order_permissions(user):
    """The user's order permissions, direct or through a group."""
    if not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(ORDER_PERMISSIONS)
    return _grants(user)[0]


def granted_accounts(user):
    """The accounts a user's grants allow, or None when no grant narrows them."""
    if not user.is_active or user.is_superuser:
        return None
    return _grants(user)[1]


def _grants(user):
    """(order permissions, granted accounts or None) in one query, cached on the user.

    What `user.has_perm` answers with Django's ModelBackend, which would load
    every permission the user has in two queries on every API request.
    """
    if not hasattr(user, "_order_grants"):
        with connection.cursor() as cursor:
            params = ["orderstate", *ORDER_PERMISSIONS, user.pk, user.pk, GRANT_PREFIX, user.pk]
            # A session's user is a lazy object: its class is not the user model.
            cursor.execute(_grants_sql(user._meta.concrete_model), params)
            rows = [name for (name,) in cursor.fetchall()]
        accounts = frozenset(
            name.removeprefix(GRANT_PREFIX) for name in rows if name.startswith(GRANT_PREFIX)
        )
        permissions = frozenset(name for name in rows if not name.startswith(GRANT_PREFIX))
        user._order_grants = (permissions, accounts or None)
    return user._order_grants


@functools.cache
def _grants_sql(user_model):
    """The SQL of `_grants`, written out because it runs on every API request.

    Built with the ORM (two OR-ed many-to-many joins) the query took ten times
    longer to compile than to run: about 1 ms of CPU per request.
    """
    direct = user_model._meta.get_field("user_permissions")
    membership = user_model._meta.get_field("groups")
    group_grants = Group._meta.get_field("permissions")
    codenames = ", ".join(["%s"] * len(ORDER_PERMISSIONS))
    grant = AccountGrant._meta
    return (
        f"SELECT p.codename FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE ct.app_label = %s AND p.codename IN ({codenames}) AND p.id IN ("
        f"SELECT {direct.m2m_reverse_name()} FROM {direct.m2m_db_table()} "
        f"WHERE {direct.m2m_column_name()} = %s "
        f"UNION SELECT gp.{group_grants.m2m_reverse_name()} "
        f"FROM {group_grants.m2m_db_table()} gp "
        f"JOIN {membership.m2m_db_table()} ug "
        f"ON ug.{membership.m2m_reverse_name()} = gp.{group_grants.m2m_column_name()} "
        f"WHERE ug.{membership.m2m_column_name()} = %s) "
        f"UNION ALL SELECT %s || g.{grant.get_field('account').column} FROM {grant.db_table} g "
        f"WHERE g.{grant.get_field('user').column} = %s"
    )
