"""OpenAPI pieces shared by the views: error responses and common parameters."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from orderstate.api.serializers import ErrorSerializer

ERROR_MEANINGS = {
    400: "Bad input; `fields` names each bad field (code validation_error or parse_error)",
    401: "No or bad credentials (code not_authenticated or authentication_failed)",
    403: "Authenticated but not allowed, e.g. a read-only token writing",
    404: "No such resource visible to this token",
    405: "Method not allowed here",
    409: "Conflict: duplicate_order, invalid_transition or ambiguous_order",
    412: "If-Match names a version that is not the current one (stale_version)",
    415: "The body is not application/json",
    503: "Unavailable for now (database_unavailable, or too_many_waiters for a long poll); "
    "retry after Retry-After seconds",
}


def errors(*statuses):
    """Error responses for `extend_schema(responses=...)`, all with the same JSON shape."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[status])
        for status in statuses
    }


READ = (401, 403, 404, 405)
LIST = (400, *READ)
WRITE = (400, 401, 403, 404, 405, 409, 415)

ACCOUNT = OpenApiParameter(
    "account",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="Account of the order, when the same id exists in several accounts",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The version from the ETag, e.g. "3"; a stale one answers 412 and changes nothing',
)
