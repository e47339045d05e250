"""The REST API under /api/v1/: views parse input, call the manager, answer JSON.

Token authentication (hashed, scoped, read-only or not), permissions, filters,
serializers, the JSON error shape and the OpenAPI schema live here; no view
writes order state itself.
"""
