"""Content-Security-Policy for HTML responses (settings.CONTENT_SECURITY_POLICY).

Django 5.2 sets X-Frame-Options, Referrer-Policy and HSTS itself but has no CSP.
"""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Add the project's CSP to every HTML response that does not carry its own.

    CONTENT_SECURITY_POLICY_BY_PATH gives a path prefix its own policy.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY
        self.by_path = getattr(settings, "CONTENT_SECURITY_POLICY_BY_PATH", {})

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy_for(request.path)
        return response

    def policy_for(self, path):
        for prefix, policy in self.by_path.items():
            if path.startswith(prefix):
                return policy
        return self.policy
