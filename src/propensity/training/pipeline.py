"""The scikit-learn pipeline a model config describes (offline/retrain only)."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler

from propensity.config import ModelConfig

# Step names are part of the contract with the scorecard compiler.
FEATURES_STEP = "features"
CLASSIFIER_STEP = "classifier"
NUMERIC_BLOCK = "numeric"
CATEGORICAL_BLOCK = "categorical"
IMPUTE_STEP = "impute"
ENCODE_STEP = "encode"


def build_pipeline(config: ModelConfig) -> Pipeline:
    estimator = config.estimator
    blocks: list[tuple[str, Pipeline, list[str]]] = []
    if config.features.numeric:
        encoder: KBinsDiscretizer | StandardScaler
        if estimator.numeric_encoding == "bins":
            encoder = KBinsDiscretizer(
                n_bins=estimator.n_bins,
                encode="onehot",
                strategy="quantile",
                # Explicit: the default is changing upstream and we want stable edges.
                quantile_method="averaged_inverted_cdf",
                subsample=None,
            )
        else:
            encoder = StandardScaler()
        numeric = Pipeline(
            [(IMPUTE_STEP, SimpleImputer(strategy="median")), (ENCODE_STEP, encoder)]
        )
        blocks.append((NUMERIC_BLOCK, numeric, list(config.features.numeric)))
    if config.features.categorical:
        categorical = Pipeline(
            [
                (IMPUTE_STEP, SimpleImputer(strategy="most_frequent")),
                (ENCODE_STEP, OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        blocks.append((CATEGORICAL_BLOCK, categorical, list(config.features.categorical)))
    classifier = LogisticRegression(
        C=estimator.C,
        class_weight=estimator.class_weight,
        max_iter=estimator.max_iter,
        solver="lbfgs",
    )
    return Pipeline(
        [
            (FEATURES_STEP, ColumnTransformer(blocks, remainder="drop", sparse_threshold=1.0)),
            (CLASSIFIER_STEP, classifier),
        ]
    )
