"""Request rates: each API token has its own budget, session users theirs, anonymous callers one.

Rates come from settings (the environment, see README). Counts live in Django's
cache, so they are per process unless CACHES points at a shared cache.
"""

from rest_framework.throttling import SimpleRateThrottle

from orderstate.models.auth import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """One budget per token, so a runaway bot is slowed without starving its user's other tokens."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class SessionUserRateThrottle(SimpleRateThrottle):
    """Logged-in users without a token (the browser): one budget per user."""

    scope = "user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken) or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
