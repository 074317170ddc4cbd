"""The serving-side scorer: standard library only, so the predict function stays light."""

from propensity.scoring.scorecard import SCORECARD_FORMAT, Contribution, Score, Scorer

__all__ = ["SCORECARD_FORMAT", "Contribution", "Score", "Scorer"]
