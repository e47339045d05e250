"""Running the service: health and metrics endpoints, middleware, locks, log redaction."""
