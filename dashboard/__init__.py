"""The traders' dashboard: server-rendered pages refreshed in place with htmx.

Views read through querysets and act only through the manager; `permissions`
says who may look and who may act.
"""
