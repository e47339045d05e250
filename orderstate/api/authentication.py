"""`Authorization: Token <key>` against hashed, expiring, revocable `ApiToken` rows."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from orderstate.api.prepared import PreparedQuery
from orderstate.models.auth import ApiToken

KEYWORD = "Token"
# `ApiToken.find`'s query, compiled once: compiling it cost more than running it.
TOKEN_BY_PREFIX = PreparedQuery(ApiToken.lookup_by_prefix)


def key_from_header(request):
    """The raw key from the Authorization header; None when the header is not ours."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != KEYWORD.lower().encode():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            "Invalid token header: expected 'Token <key>'.", code="invalid_token"
        )
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed(
            "Invalid token header: the key has characters a key never has.", code="invalid_token"
        ) from None


def find_token(key):
    """`ApiToken.find` through the precompiled query."""
    return ApiToken.find(key, by_prefix=TOKEN_BY_PREFIX)


def authenticate_key(key):
    """(user, token) for a usable key; AuthenticationFailed naming why not."""
    token = find_token(key)
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This token was revoked.", code="token_revoked")
    if not token.is_usable:
        raise exceptions.AuthenticationFailed("This token has expired.", code="token_expired")
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("The token's user is inactive.", code="user_inactive")
    token.touch()
    return token.user, token


class ApiTokenAuthentication(BaseAuthentication):
    """Sets `request.auth` to the `ApiToken`; the permissions read its `account` and `read_only`."""

    def authenticate(self, request):
        key = key_from_header(request)
        if key is None:
            return None
        return authenticate_key(key)

    def authenticate_header(self, request):
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the header in the OpenAPI schema (drf-spectacular finds it by class)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=KEYWORD
        )
