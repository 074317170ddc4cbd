"""Reviewing a challenger trial: the kill switch, then the live evaluation.

Both read only what the registry and the logs hold, so a review can run on any schedule, twice,
or after a crash, and decide the same:

- the kill switch reads the challenger's latest logged requests: the share on which scoring it
  raised, its 95th-percentile scoring time, and how far its mean prediction sits from the
  champion's on the same requests. Any guard out of bounds rolls it back at once, and every
  guard is recorded with its value and limit;
- the live evaluation joins the feedback that arrived since the trial began to the logged
  predictions it names, keeps those both models scored, and, once there are enough, decides
  with the gate's own rules (``service.promotion``) on them, challenger against champion.
  Until then it stores the comparison so far; a trial out of time expires.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from propensity.clock import iso, parse_iso, utc_now
from propensity.config import ModelConfig
from propensity.config_challenger import KillSwitchConfig
from propensity.inputs import LiveLabels
from propensity.records import ChallengerTrial, PredictionRecord
from propensity.service import promotion
from propensity.service.challenger_trials import ChallengerTrials
from propensity.service.model_configs import as_source
from propensity.service.ports import FeedbackLog, ModelConfigSource, PredictionLog, Registry
from propensity.service.trial_ports import LiveEvaluator

log = logging.getLogger(__name__)

# Below this many live labels (or with one class only) no comparison is computed yet.
MIN_COMPARED = 30


@dataclass(frozen=True)
class TrialReview:
    model: str
    version: str
    action: str  # kept, promoted, rolled_back, expired, killed
    reason: str


class TrialReviewer:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        registry: Registry,
        trials: ChallengerTrials,
        predictions: PredictionLog,
        feedback: FeedbackLog,
        evaluator: LiveEvaluator,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._configs = as_source(configs)
        self._registry = registry
        self._trials = trials
        self._predictions = predictions
        self._feedback = feedback
        self._evaluator = evaluator
        self._clock = clock

    def review(self, model: str) -> TrialReview | None:
        """Kill switch first, then the live evaluation; None without a trial."""
        trial = self._trials.active(model)
        if trial is None or trial.status != "active":
            self._trials.settle_orphans(model)
            return None
        killed = self.guard(trial)
        if killed is not None:
            return killed
        return self.evaluate(trial)

    def guard_only(self, model: str) -> TrialReview | None:
        """The kill switch alone (its alarm fired): nothing waits for labels."""
        trial = self._trials.active(model)
        if trial is None or trial.status != "active":
            return None
        return self.guard(trial)

    # --- the kill switch ------------------------------------------------------------------

    def guard(self, trial: ChallengerTrial) -> TrialReview | None:
        rule = self._configs.get(trial.model).challenger.kill_switch
        recent = [
            r
            for r in self._predictions.recent(trial.model, rule.window)
            if r.created_at >= trial.started_at
            and (trial.version in r.scores or r.challenger_error)
        ]
        if len(recent) < rule.min_requests:
            return None
        guards = _kill_guards(trial, recent, rule)
        failed = [g for g in guards if not g["passed"]]
        if not failed:
            return None
        reason = "kill switch: " + failed[0]["detail"]
        evidence = {"requests": len(recent), "window": rule.window, "guards": guards}
        ended = self._trials.end(trial.model, trial, "killed", reason, evidence)
        if ended is None:
            return None
        return TrialReview(trial.model, trial.version, "killed", reason)

    # --- the live evaluation --------------------------------------------------------------

    def live_labels(self, trial: ChallengerTrial, config: ModelConfig) -> LiveLabels:
        """Feedback since the trial began, joined to the predictions both models scored."""
        labels: dict[str, int] = {}
        committed = self._feedback.committed(trial.model)
        for page in self._feedback.read_after(trial.model, trial.feedback_seq, committed):
            for prediction_id, label in zip(page.prediction_id, page.label, strict=True):
                if prediction_id:
                    labels[prediction_id] = label
        scored = [
            r
            for r in self._predictions.get_many(sorted(labels))
            if r.model == trial.model
            and trial.version in r.scores
            and trial.champion_version in r.scores
        ]
        scored.sort(key=lambda r: (r.created_at, r.prediction_id))
        return LiveLabels(
            prediction_ids=tuple(r.prediction_id for r in scored),
            labels=tuple(labels[r.prediction_id] for r in scored),
            champion=tuple(r.scores[trial.champion_version] for r in scored),
            challenger=tuple(r.scores[trial.version] for r in scored),
            categories={
                name: tuple(r.features.get(name) for r in scored)
                for name in config.features.categorical
            },
        )

    def evaluate(self, trial: ChallengerTrial) -> TrialReview:
        config = self._configs.get(trial.model)
        rows = self.live_labels(trial, config)
        now = self._clock()
        live: dict[str, Any] = {
            "evaluated_at": iso(now),
            "labels": len(rows),
            "required": trial.min_live_labels,
            "positives": sum(rows.labels),
        }
        comparable = len(rows) >= MIN_COMPARED and 0 < sum(rows.labels) < len(rows)
        if comparable:
            thresholds = (
                self._registry.get_version(trial.model, trial.champion_version).threshold,
                self._registry.get_version(trial.model, trial.version).threshold,
            )
            compared = self._evaluator.compare(config.promotion, rows, thresholds=thresholds)
            live.update(_summary(compared))
        if comparable and len(rows) >= trial.min_live_labels:
            decision = promotion.decide(
                config.promotion, compared["challenger"], compared["champion"], compared["evidence"]
            )
            evidence = {**compared, "decision": decision.record()}
            if decision.promote:
                done = self._trials.promote(trial, decision.reason, evidence, live=live)
                action = "promoted"
            else:
                done = self._trials.end(
                    trial.model, trial, "rolled_back", decision.reason, evidence, live=live
                )
                action = "rolled_back"
            if done is not None:
                return TrialReview(trial.model, trial.version, action, decision.reason)
            return TrialReview(trial.model, trial.version, "kept", "decided meanwhile")
        expires = parse_iso(trial.expires_at)
        if expires is not None and now >= expires:
            reason = (
                f"expired at {trial.expires_at} with {len(rows)} live labels of the "
                f"{trial.min_live_labels} required"
                + ("" if comparable or len(rows) < MIN_COMPARED else " (one class only)")
            )
            self._trials.end(trial.model, trial, "expired", reason, {"live": live}, live=live)
            return TrialReview(trial.model, trial.version, "expired", reason)
        self._trials.store.update_live(replace(trial, live=live))
        reason = f"{len(rows)} of {trial.min_live_labels} live labels"
        return TrialReview(trial.model, trial.version, "kept", reason)


def _summary(compared: Mapping[str, Any]) -> dict[str, Any]:
    """The live comparison as the dashboard shows it while the trial runs."""
    evidence = compared["evidence"]
    against = evidence["against"]["champion"]
    return {
        "metric": evidence["metric"],
        "champion_metric": against["metric"],
        "challenger_metric": against["candidate_metric"],
        "difference": against["difference"],
        "interval": against["interval"],
        "method": against["method"],
        "agreement": compared["agreement"],
        "calibration": {
            "champion": against["calibration"],
            "challenger": evidence["candidate"]["calibration"],
        },
    }


def _kill_guards(
    trial: ChallengerTrial,
    recent: list[PredictionRecord],
    rule: KillSwitchConfig,
) -> list[dict[str, Any]]:
    max_error_rate, max_p95_micros, mean_band = (
        rule.max_error_rate,
        rule.max_p95_micros,
        rule.mean_band,
    )
    errors = sum(1 for r in recent if r.challenger_error)
    rate = errors / len(recent)
    guards = [
        _guard(
            "error_rate",
            rate,
            max_error_rate,
            rate <= max_error_rate,
            f"scoring with {trial.version} raised on {errors} of the latest {len(recent)} "
            f"requests ({rate:.1%}, limit {max_error_rate:.1%})",
        )
    ]
    times = [r.challenger_micros for r in recent if r.challenger_micros is not None]
    if len(times) >= 2:
        p95 = statistics.quantiles(times, n=20)[-1]
        guards.append(
            _guard(
                "p95_micros",
                p95,
                max_p95_micros,
                p95 <= max_p95_micros,
                f"{trial.version}'s 95th-percentile scoring time is {p95:.0f} µs "
                f"(limit {max_p95_micros:.0f} µs)",
            )
        )
    both = [r for r in recent if trial.version in r.scores and trial.champion_version in r.scores]
    if both:
        gap = statistics.fmean(r.scores[trial.version] for r in both) - statistics.fmean(
            r.scores[trial.champion_version] for r in both
        )
        guards.append(
            _guard(
                "mean_prediction",
                abs(gap),
                mean_band,
                abs(gap) <= mean_band,
                f"{trial.version}'s mean prediction is {gap:+.3f} from the champion's on the "
                f"same {len(both)} requests (band ±{mean_band})",
            )
        )
    return guards


def _guard(name: str, value: float, limit: float, passed: bool, detail: str) -> dict[str, Any]:
    return asdict(promotion.Guard(name, "champion", value, limit, passed, detail))
