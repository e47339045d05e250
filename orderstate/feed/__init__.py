"""The broker's real-time order feed behind `manage.py stream_orders`.

`sources` and `kotak` bring raw frames (a recorded file, the paper market,
Kotak's websocket through its SDK); `frames` reads them; `consumer` applies each
order update through the actions (`actions.broker_feed`, the sync's rules) in
its own transaction and counts every frame; `stream` is the long-running loop
(the lock across hosts, a full sync after every connect, clean stops);
`status` keeps the feed's health in the database for the dashboard, `/metrics`
and the alerts; `setup` builds a stream for a broker.
"""
