"""The serving scorer must not pull numpy, pandas or scikit-learn into the predict function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import propensity.scoring

SCORING_DIR = Path(propensity.scoring.__file__).parent
HEAVY = ("numpy", "pandas", "sklearn", "scipy", "joblib")


def test_scoring_sources_import_only_stdlib_and_domain_modules() -> None:
    # Given every module of the scoring package
    allowed_local = {
        "propensity.errors",
        *(f"propensity.scoring.{p.stem}" for p in SCORING_DIR.glob("*.py")),
        "propensity.scoring",
    }
    for path in SCORING_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            # Then each import is the standard library or the allowed domain modules
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name in allowed_local, (
                    f"{path.name}: {name}"
                )


def test_importing_and_scoring_loads_no_heavy_module() -> None:
    # When a fresh interpreter imports the scorer and scores a row
    code = (
        "import sys, json\n"
        "from propensity.scoring import Scorer, SCORECARD_FORMAT\n"
        "card = {'format': SCORECARD_FORMAT, 'model': 'm', 'intercept': 0.1, 'threshold': 0.5,"
        " 'features': [{'name': 'x', 'encoding': 'standard', 'impute': 0, 'mean': 0, 'scale': 1,"
        " 'weight': 1}]}\n"
        "Scorer(card).score({'x': 1.0})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # Then none of numpy/pandas/sklearn/scipy/joblib was imported
    assert result.stdout.strip() == "[]"


def test_package_version_matches_the_distribution() -> None:
    from importlib import metadata

    import propensity

    assert propensity.__version__ == metadata.version("propensity")
