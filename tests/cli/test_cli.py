"""The ``propensity`` command line, run in-process on the shipped telecom data."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import random
from pathlib import Path

import pytest

from propensity.cli import main
from propensity.scoring import Scorer


@pytest.fixture(scope="module")
def telecom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("telecom") / "v1"
    assert main(["train", "--model", "telecom", "--out", str(out), "--version", "v1"]) == 0
    return out


@pytest.fixture
def telecom_csv(tmp_path: Path, data_root: Path) -> Path:
    path = tmp_path / "users.csv"
    path.write_bytes(gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()))
    return path


def test_train_writes_every_artifact_with_its_checksum(telecom_dir: Path) -> None:
    manifest = json.loads((telecom_dir / "manifest.json").read_text())
    expected = {
        "scorecard.json",
        "metrics.json",
        "model.joblib",
        "roc.png",
        "pr.png",
        "confusion_matrix.png",
        "calibration.png",
        "gains.png",
        "model_card.md",
        "data_card.md",
    }
    assert set(manifest["artifacts"]) == expected
    for name, digest in manifest["artifacts"].items():
        assert hashlib.sha256((telecom_dir / name).read_bytes()).hexdigest() == digest
    metrics = json.loads((telecom_dir / "metrics.json").read_text())
    assert metrics["roc_auc"] >= 0.82
    card = (telecom_dir / "model_card.md").read_text()
    assert f"{metrics['roc_auc']:.3f}" in card
    import sklearn

    assert manifest["library_versions"]["scikit-learn"] == sklearn.__version__


def test_predict_scores_every_row_with_reasons(
    telecom_dir: Path, telecom_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "preds.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                "telecom",
                "--dir",
                str(telecom_dir),
                "--input",
                str(telecom_csv),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3214
    assert {
        "pred_is_ultra",
        "proba_is_ultra",
        "label_is_ultra",
        "reasons_is_ultra",
        "calls",
    } <= set(rows[0])
    scorer = Scorer.from_json((telecom_dir / "scorecard.json").read_bytes())
    first = scorer.score(
        {k: float(rows[0][k]) for k in ("calls", "minutes", "messages", "mb_used")}
    )
    assert float(rows[0]["proba_is_ultra"]) == first.probability
    assert rows[0]["label_is_ultra"] in {"ultra", "smart"}


def test_predict_stops_on_a_bad_row_and_writes_nothing(
    telecom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("calls,minutes,messages,mb_used\n1,2,3,4\n5,abc,7,8\n")
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    code = main(
        [
            "predict",
            "--model",
            "telecom",
            "--dir",
            str(telecom_dir),
            "--input",
            str(bad),
            "--output",
            str(out),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert f"{bad}, row 3, column 'minutes'" in error
    assert out.read_text() == "previous results\n"
    assert list(tmp_path.glob(".out.csv*")) == []


def test_predict_names_a_wrong_delimiter(
    telecom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "semi.csv"
    bad.write_text("calls;minutes;messages;mb_used\n1;2;3;4\n")
    assert (
        main(
            [
                "predict",
                "--model",
                "telecom",
                "--dir",
                str(telecom_dir),
                "--input",
                str(bad),
                "--output",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert "missing column(s) calls" in capsys.readouterr().err


def test_eval_refreshes_metrics_on_a_labelled_file(
    telecom_dir: Path, tmp_path: Path, telecom_csv: Path
) -> None:
    lines = telecom_csv.read_text().splitlines()
    sample = tmp_path / "sample.csv"
    sample.write_text("\n".join(lines[:401]) + "\n")
    assert (
        main(
            [
                "eval",
                "--model",
                "telecom",
                "--dir",
                str(telecom_dir),
                "--data",
                str(sample),
                "--no-plots",
            ]
        )
        == 0
    )
    metrics = json.loads((telecom_dir / "metrics.json").read_text())
    assert metrics["evaluated_on"]["rows"] == 400
    manifest = json.loads((telecom_dir / "manifest.json").read_text())
    assert (
        hashlib.sha256((telecom_dir / "metrics.json").read_bytes()).hexdigest()
        == manifest["artifacts"]["metrics.json"]
    )
    # Back on the held-out split, the figure matches what training reported
    assert main(["eval", "--model", "telecom", "--dir", str(telecom_dir)]) == 0
    assert json.loads((telecom_dir / "metrics.json").read_text())["evaluated_on"]["rows"] == 643


def test_eval_refuses_a_tampered_pipeline(
    telecom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in telecom_dir.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    marker = tmp_path / "pwned"
    import pickle

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {marker}",))

    (copy / "model.joblib").write_bytes(pickle.dumps(Evil()))
    assert main(["eval", "--model", "telecom", "--dir", str(copy)]) == 2
    assert "refusing to unpickle" in capsys.readouterr().err
    assert not marker.exists()


def test_drift_flags_a_shifted_feature(telecom_csv: Path, tmp_path: Path) -> None:
    with telecom_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    shifted = tmp_path / "current.csv"
    with shifted.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "mb_used": float(row["mb_used"]) * 2.5})
    report_path = tmp_path / "drift.json"
    args = [
        "drift",
        "--model",
        "telecom",
        "--ref",
        str(telecom_csv),
        "--cur",
        str(shifted),
        "--out",
        str(report_path),
    ]
    assert main(args) == 0
    report = json.loads(report_path.read_text())
    assert report["drifted_features"] == ["mb_used"]
    assert main([*args, "--fail-on-drift"]) == 1
    same = [
        "drift",
        "--model",
        "telecom",
        "--ref",
        str(telecom_csv),
        "--cur",
        str(telecom_csv),
        "--out",
        str(report_path),
        "--fail-on-drift",
    ]
    assert main(same) == 0


def test_a_third_model_needs_only_a_config_and_a_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a new config file and its dataset, outside the package
    rng = random.Random(3)
    data = tmp_path / "data"
    data.mkdir()
    with (data / "churn.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tenure", "plan", "monthly", "churned"])
        for _ in range(1000):
            tenure, plan = rng.randint(1, 60), rng.choice(["basic", "plus", "pro"])
            churn = rng.random() < (0.7 if tenure < 15 else 0.1) * (0.5 if plan == "pro" else 1.0)
            writer.writerow(
                [tenure, plan, round(rng.uniform(10, 90), 2), "true" if churn else "false"]
            )
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "churn.toml").write_text(
        'name = "churn"\ntitle = "Churn"\nobjective = "Who leaves"\n'
        '[dataset]\nsource = "churn.csv"\n'
        '[target]\ncolumn = "churned"\npositive = "true"\nnegative = "false"\n'
        '[features]\nnumeric = ["tenure", "monthly"]\ncategorical = ["plan"]\n'
        '[threshold]\nstrategy = "cost"\nfp_cost = 1.0\nfn_cost = 4.0\n'
    )
    monkeypatch.setenv("PROPENSITY_CONFIG_DIR", str(configs))
    out = tmp_path / "churn-v1"
    # When it is trained with the unchanged CLI
    assert (
        main(
            ["train", "--model", "churn", "--data-root", str(data), "--out", str(out), "--no-plots"]
        )
        == 0
    )
    # Then it produces a scorecard that scores, with the cost-based threshold recorded
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["threshold"]["strategy"] == "cost"
    assert metrics["roc_auc"] > 0.6
    assert (
        Scorer.from_json((out / "scorecard.json").read_bytes())
        .score({"tenure": 3, "plan": "basic", "monthly": 20})
        .probability
        > 0.3
    )


def test_unknown_model_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
