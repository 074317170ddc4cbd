"""Routers, one per Lambda function that serves them (see infra/template.yaml)."""
