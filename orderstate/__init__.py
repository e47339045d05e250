"""orderstate: the single source of truth for a trading bot's orders (see README, "Architecture").

Config (settings, urls, wsgi, apps, env) sits at the top with the Django-free
pieces the bot's client shares (errors, validation, money, market: defined in the
client's distribution, `orderstate_client`, and re-exported here) and the status
table (states). Rooms below: models, actions, manager, sync, brokers,
legacy, checks, api, admin, auth, ops, client, management.
"""
