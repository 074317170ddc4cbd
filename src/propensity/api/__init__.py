"""The HTTP API (FastAPI behind Mangum): routes, schemas and the error → status mapping."""
