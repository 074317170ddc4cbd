"""SklearnLayer build check and bytecode profile.

Runs against the built layer only (no site-packages). Imports the training stack and fits the
kind of pipeline the retrain function trains (binned numerics + one-hot categoricals + logistic
regression, out-of-fold threshold, metrics, drift statistics, joblib round trip). The modules this
loads are the ones build_layer.py compiles to bytecode; it fails the build on any error.
"""

import io

import joblib
import numpy as np
import pandas as pd
import scipy.stats
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler

rng = np.random.default_rng(0)
n = 600
frame = pd.DataFrame(
    {
        "age": rng.integers(18, 90, n),
        "balance": rng.normal(1000, 500, n),
        "job": pd.Series(rng.choice(["admin", "tech", "retired"], n), dtype="string"),
        "contact": rng.choice(["cellular", "unknown"], n),
    }
)
frame.loc[::50, "balance"] = np.nan
target = (frame["age"] + rng.normal(0, 10, n) > 50).astype(int)
csv = io.StringIO()
frame.assign(y=target).to_csv(csv, index=False)
csv.seek(0)
frame = pd.read_csv(csv)
target = frame.pop("y")

numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
categorical = [c for c in frame.columns if c not in numeric]
binned = Pipeline(
    [
        ("impute", SimpleImputer(strategy="median")),
        (
            "bins",
            KBinsDiscretizer(
                n_bins=5,
                encode="onehot",
                strategy="quantile",
                quantile_method="averaged_inverted_cdf",
            ),
        ),
    ]
)
pre = ColumnTransformer(
    [("num", binned, numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
)
model = Pipeline([("pre", pre), ("clf", LogisticRegression(C=1.0, max_iter=5000))])
x_train, x_test, y_train, y_test = train_test_split(
    frame, target, test_size=0.2, random_state=42, stratify=target
)
oof = cross_val_predict(
    model,
    x_train,
    y_train,
    cv=StratifiedKFold(5, shuffle=True, random_state=42),
    method="predict_proba",
)[:, 1]
precision, recall, thresholds = precision_recall_curve(y_train, oof)
model.fit(x_train, y_train)
proba = model.predict_proba(x_test)[:, 1]
predicted = (proba >= 0.5).astype(int)
metrics = {
    "roc_auc": roc_auc_score(y_test, proba),
    "pr_auc": average_precision_score(y_test, proba),
    "f1": f1_score(y_test, predicted),
    "accuracy": accuracy_score(y_test, predicted),
    "log_loss": log_loss(y_test, proba),
    "brier": brier_score_loss(y_test, proba),
}
confusion_matrix(y_test, predicted)
roc_curve(y_test, proba)
assert metrics["roc_auc"] > 0.7, metrics
names = model.named_steps["pre"].get_feature_names_out()
assert len(names) == model.named_steps["clf"].coef_.shape[1]

scaled = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])
scaled.fit(x_train[numeric].fillna(0), y_train)
CalibratedClassifierCV(scaled, cv=3).fit(x_train[numeric].fillna(0), y_train)

scipy.stats.ks_2samp(proba[:60], proba[60:])
scipy.stats.chi2_contingency(pd.crosstab(x_test["job"], predicted).to_numpy() + 1)
np.histogram(proba, bins=np.quantile(oof, np.linspace(0, 1, 11)))

buffer = io.BytesIO()
joblib.dump(model, buffer, compress=3)
buffer.seek(0)
restored = joblib.load(buffer)
assert np.allclose(restored.predict_proba(x_test)[:, 1], proba)
