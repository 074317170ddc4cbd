"""Composition roots: one per Lambda function, so each function imports only what it serves.

A root turns the function's validated settings into adapters and services. Handlers call their
root once, at cold start; tests build the same objects from the template's settings.
"""

from __future__ import annotations

from propensity.config import ModelConfig, available_models, load_model_config


def model_configs() -> dict[str, ModelConfig]:
    """Every packaged model config, validated."""
    return {name: load_model_config(name) for name in available_models()}
