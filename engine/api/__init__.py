"""The REST API blueprint, its errors and its OpenAPI document."""
