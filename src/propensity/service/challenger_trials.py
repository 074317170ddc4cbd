"""Challenger trials: a candidate that passed the offline gate meets live traffic first.

A trial starts when the gate passes a candidate of a model whose config says ``shadow`` or
``canary`` (or when an admin sets a gate-passed version), and ends in one of five verdicts,
each stored with its numbers on the trial's registry item (``TRIAL#<version>``):

- ``promoted`` / ``rolled_back``: enough live labels arrived, and the gate's own rules
  (``service.promotion``) on them, challenger against champion, said so (``service.trial_review``);
- ``expired``: the trial ran out of time before gathering its labels;
- ``killed``: the kill switch saw the challenger raise, slow down or drift from the champion;
- ``superseded``: another version took its place (a newer challenger, a direct promotion).

An admin may also end a trial (``rolled_back``, with the admin named) or start one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from propensity.clock import iso, utc_now
from propensity.config import ModelConfig
from propensity.errors import ConflictError, InvalidInputError, NotFoundError
from propensity.records import (
    ChallengerPointer,
    ChallengerTrial,
    ChampionAlias,
    PromotionEvent,
    TrialStatus,
    VersionRecord,
)
from propensity.service.model_configs import as_source
from propensity.service.ports import FeedbackLog, ModelConfigSource, Registry
from propensity.service.trial_ports import TrialStore

log = logging.getLogger(__name__)

TrialMode = Literal["shadow", "canary"]


class ChallengerTrials:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        registry: Registry,
        trials: TrialStore,
        feedback: FeedbackLog,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._configs = as_source(configs)
        self._registry = registry
        self.store = trials
        self._feedback = feedback
        self._clock = clock

    def start(
        self,
        config: ModelConfig,
        record: VersionRecord,
        champion: ChampionAlias,
        *,
        mode: TrialMode,
        fraction: float | None = None,
        actor: str = "system",
        reason: str = "",
    ) -> ChallengerTrial:
        """Put ``record`` on trial against ``champion`` (read at its current revision)."""
        if champion.challenger is not None:
            self.end(
                champion.model,
                champion.challenger,
                "superseded",
                f"superseded by {record.version}",
                {"by": record.version, "actor": actor},
            )
        now = self._clock()
        rule = config.challenger
        share = 0.0 if mode == "shadow" else (rule.fraction if fraction is None else fraction)
        trial = ChallengerTrial(
            model=config.name,
            version=record.version,
            champion_version=champion.version,
            mode=mode,
            fraction=share,
            started_at=iso(now),
            expires_at=iso(now + timedelta(days=rule.max_trial_days)),
            min_live_labels=rule.min_live_labels,
            feedback_seq=self._feedback.committed(config.name),
            started_by=actor,
            reason=reason
            or f"passed the offline gate; on trial in {mode} against {champion.version}",
        )
        pointer = ChallengerPointer(
            version=record.version,
            scorecard_key=record.scorecard_key,
            scorecard_sha256=record.artifacts.get("scorecard.json", ""),
            mode=mode,
            fraction=share,
            started_at=trial.started_at,
        )
        self.store.start(trial, pointer, expected_revision=champion.revision)
        log.info("%s %s on trial: %s", trial.model, trial.version, trial.reason)
        return trial

    def active(self, model: str) -> ChallengerTrial | None:
        alias = self._registry.get_champion(model)
        if alias is None or alias.challenger is None:
            return None
        return self.store.get(model, alias.challenger.version, alias.challenger.started_at)

    def end(
        self,
        model: str,
        which: ChallengerPointer | ChallengerTrial,
        status: TrialStatus,
        reason: str,
        evidence: Mapping[str, Any],
        *,
        live: Mapping[str, Any] | None = None,
    ) -> ChallengerTrial | None:
        """Record a verdict other than promotion; None when the trial was over already."""
        trial = self.store.get(model, which.version, which.started_at)
        version = trial.version
        if trial.status != "active":
            return None
        decided = replace(
            trial,
            status=status,
            decided_at=iso(self._clock()),
            reason=reason,
            evidence=dict(evidence),
            live=dict(live) if live is not None else trial.live,
        )
        alias = self._registry.get_champion(model)
        try:
            pointer = alias.challenger if alias is not None else None
            if pointer is not None and (pointer.version, pointer.started_at) == (
                version,
                trial.started_at,
            ):
                self.store.end(decided)
            else:
                self.store.settle(decided)
        except ConflictError:
            log.info("%s %s: trial decided meanwhile", model, version)
            return None
        log.info("%s %s trial %s: %s", model, version, status, reason)
        return decided

    def promote(
        self,
        trial: ChallengerTrial,
        reason: str,
        evidence: Mapping[str, Any],
        *,
        live: Mapping[str, Any],
    ) -> ChallengerTrial | None:
        """The challenger becomes champion, with the trial's verdict in the same write."""
        alias = self._registry.get_champion(trial.model)
        if alias is None or alias.challenger is None or alias.challenger.version != trial.version:
            return None
        at = iso(self._clock())
        decided = replace(
            trial,
            status="promoted",
            decided_at=at,
            reason=reason,
            evidence=dict(evidence),
            live=dict(live),
        )
        event = PromotionEvent(
            trial.model, trial.version, alias.version, at, "system", f"live trial: {reason}"
        )
        record = self._registry.get_version(trial.model, trial.version)
        try:
            self.store.promote(decided, record, expected_revision=alias.revision, event=event)
        except ConflictError:
            log.info("%s %s: champion moved during the decision", trial.model, trial.version)
            return None
        return decided

    # --- what admins do -------------------------------------------------------------------

    def settle_orphans(self, model: str) -> list[ChallengerTrial]:
        """Trials still active whose challenger the alias no longer names (a promotion rewrote
        it): recorded as superseded by the champion that took over."""
        alias = self._registry.get_champion(model)
        pointer = alias.challenger if alias is not None else None
        settled = []
        for trial in self.store.list(model):
            if trial.status != "active":
                continue
            if pointer is not None and (pointer.version, pointer.started_at) == (
                trial.version,
                trial.started_at,
            ):
                continue
            champion = alias.version if alias is not None else "none"
            reason = f"superseded: {champion} became the champion during the trial"
            ended = self.end(model, trial, "superseded", reason, {"champion": champion})
            if ended is not None:
                settled.append(ended)
        return settled

    def set_by_admin(
        self,
        model: str,
        version: str,
        *,
        mode: TrialMode,
        fraction: float | None,
        actor: str,
        override_gate: bool = False,
    ) -> ChallengerTrial:
        """Put a version that passed the offline gate on trial (400/404/409 otherwise); with
        ``override_gate`` a person may try one the gate refused, and the trial records it."""
        config = self._configs.get(model)
        record = self._registry.get_version(model, version)
        champion = self._registry.get_champion(model)
        if champion is None:
            raise ConflictError(f"model {model!r} has no champion to challenge")
        if version == champion.version:
            raise InvalidInputError("version", f"{version} is the champion")
        passed = bool(record.extra.get("gate", {}).get("promote"))
        if not passed and not override_gate:
            raise InvalidInputError(
                "version",
                f"{version} did not pass the offline gate ({record.reason}); "
                "set override_gate to try it anyway",
            )
        reason = f"set by {actor}: {mode} against {champion.version}"
        if not passed:
            reason += f"; offline gate overridden (it said: {record.reason})"
        return self.start(
            config, record, champion, mode=mode, fraction=fraction, actor=actor, reason=reason
        )

    def end_by_admin(self, model: str, *, actor: str, reason: str) -> ChallengerTrial:
        trial = self.active(model)
        if trial is None:
            raise NotFoundError(f"model {model!r} has no challenger on trial")
        ended = self.end(
            model,
            trial,
            "rolled_back",
            reason or f"rolled back by {actor}",
            {"actor": actor, "live": trial.live},
        )
        if ended is None:
            raise ConflictError(f"the trial of {trial.version} was decided meanwhile")
        return ended
