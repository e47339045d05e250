"""The audit log as a feed a bot can follow: `GET /api/v1/events/?after=&wait=`.

`settled` says which events a reader may be given yet and in what order, so a
cursor never passes an event that can still commit; `listener` is one thread
per process that learns when events settle (PostgreSQL LISTEN/NOTIFY, a short
poll on SQLite) and wakes the requests waiting for them. Reads only: events are
written by the actions (`actions.base.write_events`).
"""
