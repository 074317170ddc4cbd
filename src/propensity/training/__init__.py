"""Offline training: dataset loading, pipeline, evaluation, reports and artifacts."""
