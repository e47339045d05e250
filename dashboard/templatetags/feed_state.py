"""The header's word on how the state reaches us: "live" from the broker's order feed, or
"polling" when no feed is connected and only the periodic sync brings changes."""

from datetime import timedelta

from django import template

from dashboard.templatetags.dashboard_format import short_duration
from orderstate.checks.feed_health import feed_health

register = template.Library()


@register.inclusion_tag("dashboard/_feed_state.html")
def feed_state():
    live = next((feed for feed in feed_health() if feed.live), None)
    if live is None:
        return {"live": False}
    age = live.last_frame_age
    return {
        "live": True,
        "broker": live.broker,
        "last_frame": None if age is None else short_duration(timedelta(seconds=age)),
    }
