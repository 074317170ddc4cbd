"""Benchmarks: propensity's serving path vs the usual scikit-learn-on-Lambda design."""
