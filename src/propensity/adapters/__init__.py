"""Adapters: the only modules that talk to AWS (boto3). They raise domain errors."""
