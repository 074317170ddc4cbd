"""propensity: train, serve and keep improving customer-propensity classifiers."""

# Kept equal to pyproject.toml by a test; read at cold start without importlib.metadata.
__version__ = "0.1.0"
