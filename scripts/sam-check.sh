#!/usr/bin/env bash
# Lint, validate and build the SAM application, then check Lambda's 250 MiB unzipped limit.
#
#   scripts/sam-check.sh            (from anywhere; it works from the repository root)
#
# Steps:
#   1. tool venvs (python3.13, the Lambda runtime), created or refreshed when their pins change:
#      .venv-sam with pinned aws-sam-cli + cfn-lint (kept out of the project venv because
#      sam-cli's pins clash with it) and .venv-checkov with pinned checkov (its boto3 pin
#      clashes with sam-cli's);
#   2. cfn-lint infra/template.yaml, then sam validate --lint;
#   3. the template translated to CloudFormation offline and linted again (errors only), plus
#      checks neither linter makes (see that step): cfn-lint on the SAM source
#      misses misspelled !GetAtt/!Ref targets and invalid StartingPosition values;
#   3b. checkov on the translated template (the roles, stage and permissions SAM generates are
#      scanned too); any failed check fails the build. A check that does not apply is skipped in
#      the resource's Metadata (checkov: skip: [{id, comment}]), and every skip needs a reason;
#   4. sam build (no container) into .aws-sam/build: layers/*/Makefile build the layers; then
#      again for Architecture=arm64 into .aws-sam/build-arm64 (every ELF file checked aarch64);
#   5. unzipped sizes of every function and layer, and function + its layers, to stdout and
#      .aws-sam/sizes.json (arm64: sizes-arm64.json); exit 1 if any function + layers exceeds
#      262144000 bytes;
#   6. import check per function with Lambda's sys.path order (code, layers, runtime boto3):
#      what handler.py imports must import from the function's own layers.
#
# Needs: python3.13 with venv/pip (pyenv or the distribution's python3.13 + python3.13-venv),
# make, binutils (strip), and access to PyPI. No Docker, no AWS account.
# Environment: PYTHON313 (interpreter to create the venv with, default: pyenv's 3.13, else
# python3.13),
# SAM_CHECK_SPARE_MIB (warn below this headroom, default 20).
set -euo pipefail

SAM_CLI_VERSION="1.170.0"
CFN_LINT_VERSION="1.58.0" # aws-sam-cli 1.170.0 requires cfn-lint>=1.52.0,<1.59
CHECKOV_VERSION="3.3.30"  # pins boto3==1.35.49, sam-cli 1.170.0 boto3==1.43.108: own venv
LIMIT_BYTES=262144000     # 250 MiB: function + all its layers, unzipped
TEMPLATE="infra/template.yaml"
BUILD_DIR=".aws-sam/build"
BUILD_DIR_ARM64=".aws-sam/build-arm64"
VENV=".venv-sam"
CHECKOV_VENV=".venv-checkov"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
START_ALL=$(date +%s)
declare -a TIMINGS=()

step() { printf '\n==> %s\n' "$*"; STEP_NAME="$*"; STEP_START=$(date +%s); }
done_step() { TIMINGS+=("$(printf '%-38s %4ss' "$STEP_NAME" $(($(date +%s) - STEP_START)))"); }
die() { printf 'sam-check: %s\n' "$*" >&2; exit 1; }
finish() {
  local status=$?
  printf '\n==> timings\n'
  [[ ${#TIMINGS[@]} -gt 0 ]] && printf '%s\n' "${TIMINGS[@]}"
  printf '%-38s %4ss\n' "total" $(($(date +%s) - START_ALL))
  if [[ $status -eq 0 ]]; then echo "sam-check: OK"; else echo "sam-check: FAILED ($STEP_NAME)"; fi
}
STEP_NAME="start"
trap finish EXIT

for tool in make strip; do
  command -v "$tool" >/dev/null || die "'$tool' not found (install make and binutils)"
done
# The arm64 layers' extensions are stripped with binutils for aarch64 (installed when missing, as
# root with apt, like make browser does for chromium).
if ! command -v aarch64-linux-gnu-strip >/dev/null; then
  { [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null && apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils-aarch64-linux-gnu >/dev/null; } ||
    die "aarch64-linux-gnu-strip not found (apt-get install binutils-aarch64-linux-gnu)"
fi

# ---------------------------------------------------------------------------------------------
step "tool venvs ($VENV, $CHECKOV_VENV)"
tool_venv() { # directory, pins (a venv of other pins or another Python is rebuilt)
  local venv=$1 pins=$2 stamp="$1/.sam-check-pins" stamped="$2 on python3.13"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$stamped" ]]; then
    echo "up to date: $venv ($pins)"
    return
  fi
  # pyenv's python3.13 shim refuses unless the version is selected: use the install directly.
  local pyenv_313 py
  pyenv_313=$(compgen -G "$HOME/.pyenv/versions/3.13*/bin/python3.13" | head -n 1 || true)
  py="${PYTHON313:-${pyenv_313:-python3.13}}"
  command -v "$py" >/dev/null || die "$py not found: install Python 3.13 (e.g. pyenv install 3.13) or set PYTHON313"
  "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' ||
    die "$py is not Python 3.13 (the Lambda runtime): $("$py" -V 2>&1)"
  rm -rf "$venv"
  "$py" -m venv "$venv" || die "could not create $venv (Debian/Ubuntu: apt-get install python3.13-venv)"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
  printf '%s' "$stamped" >"$stamp"
}
tool_venv "$VENV" "aws-sam-cli==${SAM_CLI_VERSION} cfn-lint==${CFN_LINT_VERSION}"
tool_venv "$CHECKOV_VENV" "checkov==${CHECKOV_VERSION}"
# sam build's python3.13 builder and the layer Makefiles call `python3.13`: the venv's has pip.
export PATH="$ROOT/$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
[[ "$(python3.13 -c 'import sys; print(sys.prefix)')" == "$ROOT/$VENV" ]] ||
  die "python3.13 on PATH is not the tool venv's"
sam --version
done_step

# ---------------------------------------------------------------------------------------------
step "cfn-lint $TEMPLATE"
cfn-lint "$TEMPLATE"
done_step

step "sam validate --lint"
sam validate --lint -t "$TEMPLATE"
done_step

# ---------------------------------------------------------------------------------------------
step "translated template checks"
mkdir -p .aws-sam
python3.13 - "$TEMPLATE" .aws-sam/translated.json <<'PY'
"""Translate the SAM template offline and check what the linters do not."""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:  # policy loader stub: the template uses no managed-policy names
    def load(self):
        return {}


source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as handle:
    template = yaml_parse(handle.read())
for resource in template["Resources"].values():
    props = resource.get("Properties", {})
    for key in ("CodeUri", "ContentUri"):
        if key in props:
            props[key] = "s3://placeholder-bucket/placeholder.zip"
cfn = transform(template, {}, NoManagedPolicies())
with open(target, "w", encoding="utf-8") as handle:
    json.dump(cfn, handle, indent=1, default=str)

errors = []
resources = cfn["Resources"]
for name, resource in resources.items():
    props = resource.get("Properties", {})
    kind = resource["Type"]
    if kind == "AWS::Lambda::EventSourceMapping":
        position = props.get("StartingPosition")
        if position is not None and position not in ("LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"):
            errors.append(f"{name}: StartingPosition {position!r}")
        for flt in props.get("FilterCriteria", {}).get("Filters", []):
            try:
                json.loads(flt["Pattern"])
            except (TypeError, ValueError) as exc:
                errors.append(f"{name}: FilterCriteria pattern is not JSON: {exc}")
    if kind == "AWS::ApiGatewayV2::Stage":
        api = resources[props["ApiId"]["Ref"]]
        body = api["Properties"].get("Body", {})
        routes = {
            f"{method.upper()} {path}"
            for path, item in body.get("paths", {}).items()
            for method in item
            if not method.startswith("x-")
        }
        for key in props.get("RouteSettings", {}):
            if key not in routes:
                errors.append(f"{name}: RouteSettings key {key!r} is not a route of the API")
        # SnapStart restores only published versions: every route must invoke a function's
        # alias (AutoPublishAlias), never $LATEST.
        for path, item in body.get("paths", {}).items():
            for method, operation in item.items():
                if method.startswith("x-"):
                    continue
                uri = json.dumps(operation.get("x-amazon-apigateway-integration", {}).get("uri"))
                if "Aliaslive}" not in uri:
                    errors.append(f"{name}: {method.upper()} {path} does not invoke an alias")
for name, resource in resources.items():
    if resource["Type"] == "AWS::Lambda::Version" and name.startswith(
        ("PredictFunction", "FeedbackFunction", "AdminFunction")
    ):
        function = resources[resource["Properties"]["FunctionName"]["Ref"]]
        if function["Properties"].get("SnapStart") != {"ApplyOn": "PublishedVersions"}:
            errors.append(f"{name}: its function has no SnapStart on published versions")
if errors:
    sys.exit("template checks failed:\n  " + "\n  ".join(errors))
print(f"translated: {len(resources)} resources, ESM/route/alias/SnapStart checks ok")
PY
# Warnings are skipped on purpose: the translation resolves some parameters itself (W2001 on
# CorsAllowedOrigins, W1020 on layer names); the source template was linted with warnings above.
cfn-lint --ignore-checks W -- .aws-sam/translated.json
done_step

# ---------------------------------------------------------------------------------------------
step "checkov .aws-sam/translated.json"
# Offline (--skip-download: no Prisma Cloud guidelines). Its exit status is the summary's below.
rm -f .aws-sam/results_json.json # a scan that crashes must not leave the last one's result
"$CHECKOV_VENV/bin/checkov" -f .aws-sam/translated.json --framework cloudformation \
  --skip-download --compact --output json --output-file-path .aws-sam >/dev/null || true
python3.13 - .aws-sam/results_json.json <<'PY'
"""The scan's failures, every skip with its reason (a skip without one fails too), the counts."""
import json
import sys

with open(sys.argv[1], encoding="utf-8") as handle:
    report = json.load(handle)
results, summary = report["results"], report["summary"]


def reason(check):
    return (check.get("check_result") or {}).get("suppress_comment", "").strip()


for check in results.get("failed_checks", []):
    print(f"FAILED {check['check_id']} on {check['resource']}: {check['check_name']}")
unexplained = []
for check in results.get("skipped_checks", []):
    print(f"skipped {check['check_id']} on {check['resource']}: {reason(check) or '(no reason)'}")
    if not reason(check):
        unexplained.append(check["check_id"])
print(
    f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed,"
    f" {summary['skipped']} skipped, {summary['parsing_errors']} parsing errors"
    f" ({summary['resource_count']} resources)"
)
if summary["failed"] or summary["parsing_errors"] or unexplained:
    sys.exit(
        "checkov: fix the failure, or skip it in the resource's Metadata with a one-line reason"
        + (f" (skips without a reason: {', '.join(unexplained)})" if unexplained else "")
    )
PY
done_step

# ---------------------------------------------------------------------------------------------
step "sam build"
rm -rf "$BUILD_DIR"
sam build -t "$TEMPLATE" --build-dir "$BUILD_DIR" --parallel --no-cached
done_step

# The Architecture parameter's other value: the layers' makefiles take it from ARCHITECTURE (sam
# build passes them no parameters). This machine cannot run arm64 code, so those layers are
# checked by their ELF headers (build_layer.py) and sizes, not imported.
step "sam build (arm64)"
rm -rf "$BUILD_DIR_ARM64"
ARCHITECTURE=arm64 sam build -t "$TEMPLATE" --build-dir "$BUILD_DIR_ARM64" --parallel --no-cached \
  --parameter-overrides Architecture=arm64
done_step

# ---------------------------------------------------------------------------------------------
sizes() { # build dir, report file
python3.13 - "$1" "$LIMIT_BYTES" "${SAM_CHECK_SPARE_MIB:-20}" "$2" <<'PY'
"""Sizes as Lambda counts them: the sum of the (uncompressed) sizes of the files in each zip."""
import json
import os
import sys

from samtranslator.yaml_helper import yaml_parse

build, limit, spare_target, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
MIB = 2**20
with open(os.path.join(build, "template.yaml"), encoding="utf-8") as handle:
    template = yaml_parse(handle.read())


def unzipped(path):
    total = files = 0
    for directory, _, names in os.walk(os.path.join(build, path), followlinks=True):
        for name in names:
            total += os.stat(os.path.join(directory, name)).st_size  # zip stores link targets
            files += 1
    return total, files


layers, functions = {}, {}
resources = template["Resources"]
for name, res in resources.items():
    if res["Type"] == "AWS::Serverless::LayerVersion":
        size, files = unzipped(res["Properties"]["ContentUri"])
        layers[name] = {"bytes": size, "mib": round(size / MIB, 2), "files": files}
for name, res in resources.items():
    if res["Type"] != "AWS::Serverless::Function":
        continue
    size, files = unzipped(res["Properties"]["CodeUri"])
    refs = [ref["Ref"] for ref in res["Properties"].get("Layers", []) if isinstance(ref, dict) and "Ref" in ref]
    total = size + sum(layers[ref]["bytes"] for ref in refs)
    functions[name] = {
        "bytes": size, "mib": round(size / MIB, 2), "files": files, "layers": refs,
        "total_bytes": total, "total_mib": round(total / MIB, 2),
        "headroom_bytes": limit - total, "headroom_mib": round((limit - total) / MIB, 2),
    }

report = {"limit_bytes": limit, "limit_mib": limit / MIB, "layers": layers, "functions": functions}
with open(out, "w", encoding="utf-8") as handle:
    json.dump(report, handle, indent=2)
    handle.write("\n")

print(f"{'layer':<16}{'bytes':>13}{'MiB':>9}{'files':>8}")
for name, layer in layers.items():
    print(f"{name:<16}{layer['bytes']:>13}{layer['mib']:>9.2f}{layer['files']:>8}")
print(f"\n{'function':<18}{'own MiB':>9}{'+ layers':>24}{'total MiB':>11}{'headroom MiB':>14}")
over = low = False
for name, fn in functions.items():
    flag = ""
    if fn["total_bytes"] > limit:
        flag, over = "  OVER THE LIMIT", True
    elif fn["headroom_mib"] < spare_target:
        flag, low = f"  below the {spare_target:g} MiB target", True
    print(f"{name:<18}{fn['mib']:>9.2f}{'+'.join(fn['layers']) or '-':>24}"
          f"{fn['total_mib']:>11.2f}{fn['headroom_mib']:>14.2f}{flag}")
print(f"\nwritten {out}")
if over:
    sys.exit(f"a function plus its layers exceeds {limit} bytes unzipped")
if low:
    print(f"WARNING: headroom below {spare_target:g} MiB", file=sys.stderr)
PY
}
step "unzipped sizes"
sizes "$BUILD_DIR" .aws-sam/sizes.json
echo
echo "arm64:"
sizes "$BUILD_DIR_ARM64" .aws-sam/sizes-arm64.json
done_step

# ---------------------------------------------------------------------------------------------
step "import check (Lambda-like sys.path)"
# For each function: its code dir, then its layers, then a stand-in for the runtime's own
# packages (boto3, botocore & co. linked from the tool venv), the order Lambda uses
# (/var/task, /opt/python, /var/runtime). Imports what handler.py imports (not handler.py
# itself: it loads settings and models at import) in an isolated python3.13 (-I -S -B: no
# site-packages can mask a missing module, nothing written into the build), with
# AWS_LAMBDA_FUNCTION_NAME set so powertools behaves as in Lambda (Tracer needs aws_xray_sdk).
# The retrain function must also import the training stack.
python3.13 - "$BUILD_DIR" <<'PY'
import ast
import importlib.util
import os
import subprocess
import sys
import tempfile

from samtranslator.yaml_helper import yaml_parse

build = os.path.abspath(sys.argv[1])
with open(os.path.join(build, "template.yaml"), encoding="utf-8") as handle:
    template = yaml_parse(handle.read())
globals_fn = template.get("Globals", {}).get("Function", {})
resources = template["Resources"]

runtime = tempfile.mkdtemp(prefix="lambda-runtime-")
for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"):
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        print(f"note: {name} not in the tool venv, not emulated")
        continue
    source = spec.submodule_search_locations[0] if spec.submodule_search_locations else spec.origin
    os.symlink(source, os.path.join(runtime, os.path.basename(source)))
# snapshot_restore_py (SnapStart's runtime hooks) ships in the python3.12+ runtimes, never in a
# layer: the local run's stand-in plays it here.
os.symlink(
    os.path.abspath("src/propensity/local/lambda_runtime/snapshot_restore_py.py"),
    os.path.join(runtime, "snapshot_restore_py.py"),
)

PROBE = """
import importlib, sys, time, traceback
sys.path[:0] = PATHS
failed = []
started = time.perf_counter()
for module in MODULES:
    try:
        importlib.import_module(module)
    except Exception as exc:
        failed.append(module)
        print(f"    FAILED import {module}: {type(exc).__name__}: {exc}")
        print("      " + "".join(traceback.format_exception(exc)[-3:]).strip().replace("\\n", "\\n      "))
print(f"    {len(MODULES) - len(failed)}/{len(MODULES)} imports ok in {time.perf_counter() - started:.2f} s")
sys.exit(1 if failed else 0)
"""
TRAINING_STACK = ["sklearn.linear_model", "sklearn.pipeline", "pandas", "scipy.stats", "joblib"]

failures = 0
for name, res in resources.items():
    if res["Type"] != "AWS::Serverless::Function":
        continue
    props = res["Properties"]
    code = os.path.join(build, props["CodeUri"])
    layers = [
        os.path.join(build, resources[ref["Ref"]]["Properties"]["ContentUri"], "python")
        for ref in props.get("Layers", [])
        if isinstance(ref, dict) and "Ref" in ref
    ]
    handler = props.get("Handler", globals_fn.get("Handler", "handler.lambda_handler"))
    handler_file = os.path.join(code, handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
    modules = []
    if os.path.isfile(handler_file):
        with open(handler_file, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
                modules.append(node.module)
    else:
        print(f"note: {os.path.relpath(handler_file, build)} missing: build works, deploy would not")
    if any(os.path.basename(os.path.dirname(p)) == "SklearnLayer" for p in layers):
        modules += TRAINING_STACK
    modules = list(dict.fromkeys(modules))
    print(f"{name}: {len(modules)} modules, layers {[os.path.basename(os.path.dirname(p)) for p in layers]}")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_REGION": os.environ["AWS_DEFAULT_REGION"],
        "AWS_DEFAULT_REGION": os.environ["AWS_DEFAULT_REGION"],
        "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
    }
    env.update({k: str(v) for k, v in globals_fn.get("Environment", {}).get("Variables", {}).items() if isinstance(v, (str, int, float))})
    code_text = f"PATHS = {[code, *layers, runtime]!r}\nMODULES = {modules!r}\n" + PROBE
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code_text], env=env, cwd=code, check=False
    )
    failures += result.returncode != 0
if failures:
    sys.exit(
        f"{failures} function(s) would fail to import in Lambda. A missing module must come from"
        " a layer: add it to pyproject.toml [project] dependencies and layers/core/requirements.txt"
        " (light) or the train extra and layers/sklearn/requirements.txt."
    )
PY
done_step

