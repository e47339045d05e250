"""Notifications: the outbox's rows delivered to webhooks and Telegram chats.

The rows are written by the actions beside their events (`actions.outbox`);
this package only reads them and sends them. `deliverer` runs the sends, a few
at a time, and records each outcome (`results`); `claims` leases due rows so
several deliverers never send one at once; `senders` speaks HTTP (webhooks
signed with HMAC-SHA256, Telegram's Bot API); `payload` and `messages` say what
is sent; `housekeeping` gives up old messages, prunes delivered ones and notices
a stale sync; `subscriptions` creates and lists targets, refusing bad ones.
"""
