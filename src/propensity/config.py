"""Model configuration: one TOML file per model, validated by pydantic.

Adding a model means adding ``model_configs/<name>.toml`` (or a file in a directory passed with
``--config-dir``) and its dataset: no code change.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from propensity.config_challenger import ChallengerConfig
from propensity.config_chat import ChatConfig
from propensity.errors import ConfigError, UnknownModelError

MODEL_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)

# Raw label spellings accepted for the target wherever labels enter (datasets, feedback, CSVs).
POSITIVE_TOKENS = frozenset({"1", "yes", "true", "y", "si", "sí"})
NEGATIVE_TOKENS = frozenset({"0", "no", "false", "n"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Strict):
    # Relative sources resolve against the data root (the repo's data/ locally, s3://bucket/datasets/
    # in AWS); absolute paths, s3:// and https:// URLs are used as they are.
    source: str
    origin_url: str | None = None
    # For zip archives: the member to read, nested archives separated by "/".
    origin_member: str | None = None
    sha256: str | None = None
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8"
    # Spellings of a missing cell besides the empty one (compared after stripping blanks), used
    # alike by upload validation, the CLI and training: e.g. ["NA", "?"].
    na_values: list[str] = Field(default_factory=list)
    license: str = "unknown"
    citation: str = ""
    description: str = ""


class TargetConfig(_Strict):
    column: str
    # How the dataset spells the classes; labels in responses use positive_label/negative_label.
    positive: str = "1"
    negative: str = "0"
    positive_label: str = "yes"
    negative_label: str = "no"


class CrossConfig(_Strict):
    """An interaction: one weight per seen (first, second) pair, added to the score.

    ``first`` is categorical; ``second`` is categorical or numeric. A numeric member is cut into
    ``bins`` quantile bins of its own (its sentinels keep their own level).
    """

    first: str
    second: str
    bins: Annotated[int, Field(ge=2, le=20)] = 4

    @property
    def name(self) -> str:
        return f"{self.first} × {self.second}"


class FeaturesConfig(_Strict):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    # Why a dropped column is dropped (shown in the model card).
    drop_reasons: dict[str, str] = Field(default_factory=dict)
    # Numeric values that mean something else than a quantity (bank: pdays = -1, "never
    # contacted"): each gets its own weight instead of sharing a bin with real values.
    sentinels: dict[str, list[float]] = Field(default_factory=dict)
    crosses: list[CrossConfig] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _disjoint(self) -> FeaturesConfig:
        if not self.numeric and not self.categorical:
            raise ValueError("at least one numeric or categorical feature is required")
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"features both numeric and categorical: {sorted(both)}")
        dropped = (set(self.numeric) | set(self.categorical)) & set(self.drop)
        if dropped:
            raise ValueError(f"features also listed in drop: {sorted(dropped)}")
        not_numeric = sorted(set(self.sentinels) - set(self.numeric))
        if not_numeric:
            raise ValueError(f"sentinels for features that are not numeric: {not_numeric}")
        names = set()
        for cross in self.crosses:
            if cross.first not in self.categorical:
                raise ValueError(f"cross {cross.name!r}: first must be a categorical feature")
            if cross.second not in self.all or cross.second == cross.first:
                raise ValueError(f"cross {cross.name!r}: second must be another feature")
            if cross.name in names:
                raise ValueError(f"cross {cross.name!r} is listed twice")
            names.add(cross.name)
        return self

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class EstimatorConfig(_Strict):
    C: Annotated[float, Field(gt=0)] = 1.0
    # Values of C tried by stratified cross-validation on the training split at every train and
    # retrain (the best mean ROC-AUC wins); empty means ``C`` alone. Each value costs cv_folds fits.
    C_grid: Annotated[list[Annotated[float, Field(gt=0)]], Field(max_length=5)] = Field(
        default_factory=list
    )
    cv_folds: Annotated[int, Field(ge=2, le=10)] = 5
    # A field missing at serving: "impute" scores the training median/mode, "mean" makes it
    # contribute its training average (zero effect); "auto" takes the one with the lower log-loss
    # on validation folds with fields masked.
    missing: Literal["auto", "impute", "mean"] = "auto"
    class_weight: Literal["balanced"] | None = None
    numeric_encoding: Literal["bins", "standard"] = "bins"
    n_bins: Annotated[int, Field(ge=2, le=100)] = 10
    max_iter: Annotated[int, Field(ge=10)] = 5000


class TrainingConfig(_Strict):
    """Where a version is trained: in the retrain function (scikit-learn), as a Spark job (EMR
    Serverless, deployed with the stack's SparkBackend parameter), or by size: "auto" sends a
    retrain to Spark from ``spark_min_rows`` rows (base dataset plus feedback) on."""

    backend: Literal["lambda", "spark", "auto"] = "lambda"
    spark_min_rows: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _threshold_for_auto(self) -> TrainingConfig:
        if self.backend == "auto" and self.spark_min_rows is None:
            raise ValueError("training.spark_min_rows is required when training.backend = 'auto'")
        if self.backend != "auto" and self.spark_min_rows is not None:
            raise ValueError(
                f"training.spark_min_rows applies only to backend 'auto', not {self.backend!r}"
            )
        return self

    def backend_for(self, rows: int) -> Literal["lambda", "spark"]:
        """The backend that trains a version on ``rows`` rows."""
        if self.backend == "auto":
            return "spark" if rows >= (self.spark_min_rows or 0) else "lambda"
        return self.backend


class SplitConfig(_Strict):
    test_size: Annotated[float, Field(gt=0, lt=1)] = 0.2
    seed: int = 42
    stratify: bool = True


class ThresholdConfig(_Strict):
    # fixed: use ``value``; max_f1: the threshold that maximises F1; cost: the one that minimises
    # fp_cost * FP + fn_cost * FN. Chosen on out-of-fold predictions of the training split, never
    # on the held-out test split.
    strategy: Literal["fixed", "max_f1", "cost"] = "max_f1"
    value: Annotated[float, Field(gt=0, lt=1)] = 0.5
    fp_cost: Annotated[float, Field(ge=0)] = 1.0
    fn_cost: Annotated[float, Field(ge=0)] = 1.0


class PromotionConfig(_Strict):
    """The gate a candidate passes, against the champion and against a fixed reference (the
    last version a person approved, else v1), all measured on the same held-out rows."""

    metric: Literal["roc_auc", "pr_auc", "f1", "accuracy", "neg_log_loss"] = "roc_auc"
    # The lower bound of the paired interval of (candidate − comparator) on ``metric`` must be
    # at or above −tolerance, against the champion and against the reference.
    tolerance: Annotated[float, Field(ge=0, le=1)] = 0.005
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    # Paired bootstrap rounds for metrics other than ROC-AUC (ROC-AUC uses DeLong).
    bootstrap_rounds: Annotated[int, Field(ge=50, le=5000)] = 200
    # The candidate's metric may sit at most this far below the reference's: small losses
    # promoted one at a time cannot add up.
    max_cumulative_drop: Annotated[float, Field(ge=0, le=1)] = 0.01
    # Calibration: relative increases of log-loss and Brier, absolute increase of the expected
    # calibration error, and the gap between mean prediction and base rate.
    max_log_loss_increase: Annotated[float, Field(ge=0, le=1)] = 0.02
    max_brier_increase: Annotated[float, Field(ge=0, le=1)] = 0.02
    max_ece_increase: Annotated[float, Field(ge=0, le=1)] = 0.02
    max_mean_gap: Annotated[float, Field(ge=0, le=1)] = 0.02
    # Slices: the categorical features whose values are checked (None: every categorical), the
    # held-out rows a value needs to count, and how much worse a slice may get: the gap between
    # its mean prediction and its observed rate, and its ROC-AUC.
    slices: list[str] | None = None
    slice_min_rows: Annotated[int, Field(ge=10)] = 100
    slice_max_gap_increase: Annotated[float, Field(ge=0, le=1)] = 0.03
    slice_max_auc_drop: Annotated[float, Field(ge=0, le=1)] = 0.05
    # A candidate whose scorecard is larger is never promoted (GET /models/{m} serves it, and
    # Lambda answers at most 6 MB).
    max_scorecard_bytes: Annotated[int, Field(ge=10_000)] = 256_000
    # No other metric may fall by more than this against the champion ("no metric collapse").
    max_metric_drop: Annotated[float, Field(ge=0, le=1)] = 0.05
    # The batch of new labelled rows worth a retrain (settings can lower it for demos and tests).
    min_feedback: Annotated[int, Field(ge=1)] = 1


class FeedbackConfig(_Strict):
    """What labelled rows from outside (feedback, uploads) may bring into training."""

    # Explicit bounds per numeric feature: a value outside gets a 422 naming the field.
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    # Whatever a feature's bounds, no number beyond this magnitude is stored (±1e308 broke
    # every model using standard scaling).
    max_abs_value: Annotated[float, Field(gt=0)] = 1e9
    # Without explicit bounds, rows with a number further outside the training range than this
    # many times its width are left out of training, and counted.
    range_margin: Annotated[float, Field(ge=0)] = 1.0
    # A category never seen in training is stored, but trained as unknown until this many
    # extra rows carry it; at most ``max_new_categories`` new ones per feature are learnt.
    min_category_support: Annotated[int, Field(ge=1)] = 30
    max_new_categories: Annotated[int, Field(ge=0)] = 20


class EvaluationConfig(_Strict):
    # Out-of-time evaluation: train on the earliest rows, test on the latest ``out_of_time_share``.
    # Rows are ordered by ``order_column`` or, with ``time_ordered``, as the file lists them.
    order_column: str | None = None
    time_ordered: bool = False
    out_of_time_share: Annotated[float, Field(gt=0, lt=1)] = 0.2
    # Bootstrap intervals on the metrics (seeded, so a version's card is reproducible).
    bootstrap_resamples: Annotated[int, Field(ge=0, le=10_000)] = 1000
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    bootstrap_seed: int = 42
    # Feedback whose id hashes below this share (SHA-256, so the same row lands on the same side
    # at every retrain) is never trained on: a second held-out set of fresh labels, reported
    # beside the base split; the gate decides on the base split alone. 0 turns it off. Raising
    # the share only takes rows out of training; lowering it hands held-out rows to training.
    feedback_holdout_share: Annotated[float, Field(ge=0, lt=1)] = 0.2
    # Fewer held-out feedback rows than this are reported as too few, without metrics.
    feedback_holdout_min_rows: Annotated[int, Field(ge=1)] = 30

    @property
    def out_of_time(self) -> bool:
        return self.time_ordered or self.order_column is not None


class DriftConfig(_Strict):
    """When the logged traffic counts as drifted from the training data.

    A feature drifts when its test (KS for numerics, chi-square for categoricals) is significant
    after correcting for testing every feature at once, and its PSI is at least ``min_psi``: the
    test says the move is more than noise, PSI that it is big enough to matter.
    """

    # Which prediction sources form the window. The dashboard and chat are demos whose rows a
    # person made up, not the population the model serves.
    # (pydantic copies a mutable default for every instance.)
    sources: Annotated[list[Literal["api", "batch", "chat", "dashboard"]], Field(min_length=1)] = [
        "api",
        "batch",
    ]
    # The latest this many predictions (of those sources) are compared with the training data.
    window: Annotated[int, Field(ge=1, le=100_000)] = 5000
    # Fewer rows than this and nothing is compared; a feature with fewer values is not tested.
    # At 50 rows, 20 of 20 windows drawn from the training data itself were flagged by PSI alone.
    min_rows: Annotated[int, Field(ge=20)] = 200
    # Chance of a false alarm (Bonferroni) or expected share of false discoveries (BH, BY) over
    # the model's features, per report: at 0.05 one report in twenty of unchanged traffic would
    # still say "drift".
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01
    correction: Literal["benjamini-hochberg", "benjamini-yekutieli", "bonferroni"] = (
        "benjamini-hochberg"
    )
    # A significant move with a smaller PSI is reported but not drift (large windows make tiny,
    # harmless moves significant). 0.1 is the usual "moderate shift" mark.
    min_psi: Annotated[float, Field(ge=0)] = 0.1
    # Quantile bins of the reference for a numeric feature's PSI.
    bins: Annotated[int, Field(ge=2, le=50)] = 10


class ModelConfig(_Strict):
    name: Annotated[str, Field(pattern=MODEL_NAME_PATTERN)]
    title: str
    objective: str
    dataset: DatasetConfig
    target: TargetConfig
    features: FeaturesConfig
    estimator: EstimatorConfig = EstimatorConfig()
    training: TrainingConfig = TrainingConfig()
    split: SplitConfig = SplitConfig()
    threshold: ThresholdConfig = ThresholdConfig()
    promotion: PromotionConfig = PromotionConfig()
    challenger: ChallengerConfig = ChallengerConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    drift: DriftConfig = DriftConfig()
    limitations: list[str] = Field(default_factory=list)
    chat: ChatConfig = ChatConfig()

    @model_validator(mode="after")
    def _chat_names_features(self) -> ModelConfig:
        known = set(self.features.all)
        named = set(self.chat.features) | {n for p in self.chat.phrases for n in p.sets}
        named |= {f.next_to for f in self.chat.features.values() if f.next_to}
        unknown = named - known
        if unknown:
            raise ValueError(f"chat names features the model does not have: {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _order_column_is_kept(self) -> ModelConfig:
        order = self.evaluation.order_column
        if order is not None and order not in self.features.all:
            # The loader keeps only features and the target, so the column must be one of them.
            raise ValueError(f"evaluation.order_column {order!r} is not a feature")
        return self

    def label_for(self, prediction: int) -> str:
        return self.target.positive_label if prediction == 1 else self.target.negative_label


def config_for(configs: Mapping[str, ModelConfig], model: str) -> ModelConfig:
    """The config of ``model``; UnknownModelError when it is not one of ``configs``."""
    config = configs.get(model)
    if config is None:
        raise UnknownModelError(model)
    return config


def parse_label(value: object, target: TargetConfig) -> int:
    """Turn a raw label (the dataset's spelling, yes/no, 1/0, true/false) into 0/1.

    Raises ``ValueError`` with the reason; callers attach the field or row.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    token = str(value).strip().lower()
    if token == target.positive.lower() or token in POSITIVE_TOKENS:
        return 1
    if token == target.negative.lower() or token in NEGATIVE_TOKENS:
        return 0
    if token in {"1.0"}:
        return 1
    if token in {"0.0"}:
        return 0
    shown = repr(value)
    if len(shown) > 40:  # a hostile label is named, not echoed whole
        shown = shown[:39] + "…"
    raise ValueError(
        f"label {shown} is not one of {target.positive!r}/{target.negative!r}, "
        "yes/no, 1/0, true/false"
    )


def packaged_config_dir() -> Path:
    return Path(str(resources.files("propensity") / "model_configs"))


def _search_path(config_dir: Path | None) -> list[Path]:
    # An operator's directory comes first so it can add models or override shipped ones.
    return [d for d in (config_dir, packaged_config_dir()) if d is not None]


def available_models(config_dir: Path | None = None) -> list[str]:
    names = {p.stem for d in _search_path(config_dir) for p in d.glob("*.toml")}
    return sorted(n for n in names if _MODEL_NAME.match(n))


def load_model_config(name: str, config_dir: Path | None = None) -> ModelConfig:
    if not _MODEL_NAME.match(name):
        raise UnknownModelError(name)
    path = next(
        (d / f"{name}.toml" for d in _search_path(config_dir) if (d / f"{name}.toml").is_file()),
        None,
    )
    if path is None:
        raise UnknownModelError(name)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        config = ModelConfig.model_validate(raw)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if config.name != name:
        raise ConfigError(f"{path}: name {config.name!r} does not match the file name")
    return config
