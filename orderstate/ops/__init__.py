"""Running the service: health and metrics endpoints, middleware, log redaction."""
