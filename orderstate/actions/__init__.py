"""Every change of an order, trade or failed buy: plain functions, one module per topic.

Each public action is one `transaction.atomic(durable=True)` that locks the rows
it changes, decides on the locked rows, and writes an `OrderEvent` with the
context's source and actor (`base.change_order` is the one writer). Helpers that
run inside a caller's transaction say so. Modules: `orders` (registration,
price, tracking, notes), `fills` (executions and the step every fill shares),
`positions` (what a fill does to a trade), `broker` and `broker_rule` (the
broker's view applied, and the pure rule deciding it), `failed_orders` (the
retry queue), `imports` (history as recorded), `repairs` (corrections of
positions), `notifications` (events about no one order: sync failed or stale,
position mismatch, feed down, a test) and `outbox` (the outbox rows every event
writer adds for the subscriptions that want the event).
"""
