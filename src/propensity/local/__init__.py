"""The local run of infra/template.yaml: emulated S3/DynamoDB, real handlers, no Docker.

Development tooling only: it is not shipped in the Lambda layers.
"""
