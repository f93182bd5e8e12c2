"""Cross-capability building blocks: configuration, errors, auth, HTTP mapping, idempotency."""
