"""The dashboard, and the API docs it links to, driven in a real headless Chromium against the
local stack.

Each tab is exercised the way a user works in it (tests/local/browser.py launches Debian's
chromium), and a screenshot of each is saved to test-output/screenshots/.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, FilePayload, Page, expect

from propensity.config import packaged_config_dir
from propensity.local.stack_run import DATA_DIR, LocalStack
from propensity.local.template import REPO_ROOT, Stack
from tests.support.chat_lexicons import CHAT_MODEL_DIR

from .browser import SCREENSHOTS, banner, chromium, percent, screenshot
from .httpclient import call_json

pytestmark = pytest.mark.slow

JOB_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Feedback alone never retrains here (RetrainMinFeedback=50): the only new version is the one
    # the Models tab asks for. ModelRefreshSeconds=0 makes a promotion visible at once.
    template = Stack(parameters={"RetrainMinFeedback": "50", "ModelRefreshSeconds": "0"})
    # A third model, added the way a user adds one: a TOML (with its [chat] section) next to the
    # shipped ones and its dataset in the data directory. The functions read model configs from
    # the package's directory; for this stack that directory is a copy with churn.toml added.
    configs = tmp_path_factory.mktemp("model_configs")
    for shipped in packaged_config_dir().glob("*.toml"):
        shutil.copy(shipped, configs)
    shutil.copy(CHAT_MODEL_DIR / "churn.toml", configs)
    data = tmp_path_factory.mktemp("data")
    for dataset in DATA_DIR.glob("*.csv.gz"):
        (data / dataset.name).symlink_to(dataset)
    (data / "churn.csv.gz").write_bytes(gzip.compress((CHAT_MODEL_DIR / "churn.csv").read_bytes()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("propensity.config.packaged_config_dir", lambda: configs)
        with LocalStack(
            port=0, run_schedules=False, quiet=True, stack=template, data_dir=data
        ) as running:
            yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def requested_urls() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, stack: LocalStack, requested_urls: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    page_errors: list[str] = []
    opened.on("pageerror", lambda error: page_errors.append(str(error)))
    opened.on("request", lambda request: requested_urls.append(request.url))
    opened.goto(f"{stack.url}/")
    opened.wait_for_selector("html[data-ready=true]")
    yield opened
    context.close()
    assert page_errors == [], f"JavaScript errors on the page: {page_errors}"


def test_predict_tab_scores_the_form_and_takes_feedback(page: Page, stack: LocalStack) -> None:
    # Given the form generated from bank's schema: a select per categorical, a number otherwise
    _, schema = call_json("GET", f"{stack.url}/models/bank")
    categorical = [f["name"] for f in schema["features"] if f["categories"]]
    numeric = [f["name"] for f in schema["features"] if not f["categories"]]
    schema_names = [f["name"] for f in schema["features"]]
    assert page.locator("#predict-fields select").count() == len(categorical) > 0
    assert page.locator("#predict-fields input[type=number]").count() == len(numeric) > 0
    assert "typical" in page.inner_text("label[for=feature-age]")

    # When a user sets a few fields and asks for a prediction
    page.fill("#feature-age", "45")
    page.select_option("#feature-job", "technician")
    page.select_option("#feature-poutcome", "success")
    page.click("#predict-submit")

    # Then the probability, label, threshold, answering version and reasons are shown
    result = page.locator("#predict-result")
    probability = percent(result.get_by_test_id("probability").inner_text())
    assert 0.0 < probability < 100.0
    assert result.get_by_test_id("version").inner_text() == "bank v1"
    assert result.locator(".reasons li").count() == 3
    assert "poutcome=success" in result.locator(".reasons").inner_text()
    # And only the fields the user set were sent: the others are named as filled by the model
    filled = result.locator("p.hint", has_text="Filled with training values").inner_text()
    assert set(filled.split(": ", 1)[1].split(", ")) == set(schema_names) - {
        "age",
        "job",
        "poutcome",
    }

    # When the true outcome is sent back without a credential in the page
    result.locator(".feedback-yes").click()
    # Then the service refuses it and the page says why
    assert "credential required" in banner(page) and "401" in banner(page)

    # When the feedback token make run prints is typed in and the outcome sent again
    page.fill("#admin-token", stack.feedback_token)
    result.locator(".feedback-yes").click()

    # Then the service stored it once, as the token's subject, from the dashboard
    status = result.get_by_test_id("feedback-status")
    status.filter(has_text="feedback stored").wait_for()
    assert "y=1" in status.inner_text()
    assert "from local-demo via dashboard" in status.inner_text()
    screenshot(page, "predict")


def test_credentials_are_kept_in_memory_only(page: Page, stack: LocalStack) -> None:
    # Given a credential and an identity token typed into the page (and the fields left, so
    # any change handler has run)
    page.fill("#admin-token", stack.feedback_token)
    page.press("#admin-token", "Tab")
    page.fill("#admin-jwt", "eyJhbGciOi.not-a-real-jwt.signature")
    page.press("#admin-jwt", "Tab")
    # When the credential is used: feedback for a prediction
    page.fill("#feature-age", "52")
    page.click("#predict-submit")
    result = page.locator("#predict-result")
    result.locator(".feedback-no").click()
    result.get_by_test_id("feedback-status").filter(has_text="feedback stored").wait_for()
    # Then nothing of it is in the browser's storage: no sessionStorage, localStorage or cookie
    stored = page.evaluate("() => [sessionStorage.length, localStorage.length, document.cookie]")
    assert stored == [0, 0, ""]
    assert page.context.cookies() == []
    # And a reload forgets it: the fields are empty and feedback asks for a credential again
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    assert (page.input_value("#admin-token"), page.input_value("#admin-jwt")) == ("", "")
    page.fill("#feature-age", "52")
    page.click("#predict-submit")
    page.locator("#predict-result .feedback-no").click()
    assert "credential required" in banner(page)


def test_chat_tab_extracts_features_in_spanish_and_english(page: Page, stack: LocalStack) -> None:
    page.fill("#admin-token", stack.feedback_token)  # for the feedback buttons
    page.click("#tab-button-chat")

    # When a client is described in Spanish
    page.fill("#chat-input", "Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado")
    page.click("#chat-send")
    answer = page.get_by_test_id("chat-answer").nth(0)
    answer.wait_for()

    # Then the fields it understood are listed, the rest named as defaults, with a prediction
    chips = {
        chip.get_attribute("data-feature"): chip.inner_text()
        for chip in answer.locator(".chip").all()
    }
    assert chips == {
        "age": "age = 45",
        "balance": "balance = 1200",
        "housing": "housing = yes",
        "job": "job = technician",
        "marital": "marital = married",
    }
    assert "poutcome" in answer.locator(".defaults").inner_text()
    assert "Probabilidad" in answer.inner_text()
    percent(answer.get_by_test_id("probability").inner_text())

    # And its feedback buttons work like the Predict tab's, the label recorded as the chat's
    answer.locator(".feedback-no").click()
    stored = answer.get_by_test_id("feedback-status").filter(has_text="feedback stored")
    stored.wait_for()
    assert "via chat" in stored.inner_text()

    # When the same is done in English
    page.fill("#chat-input", "I'm 30, single, no housing loan, balance 2,500")
    page.click("#chat-send")
    english = page.get_by_test_id("chat-answer").nth(1)
    english.wait_for()
    understood = english.locator(".understood").inner_text()
    for expected in ("age = 30", "marital = single", "housing = no", "balance = 2500"):
        assert expected in understood

    # And for telecom, after switching models
    page.select_option("#model-select", "telecom")
    page.wait_for_selector("#champion-badge:has-text('v1')")
    page.click("#tab-button-chat")
    page.fill("#chat-input", "hago 85 llamadas, 516 minutos, 56 SMS y uso 22 GB")
    page.click("#chat-send")
    telecom = page.get_by_test_id("chat-answer").nth(0)
    telecom.wait_for()
    understood = telecom.locator(".understood").inner_text()
    for expected in ("calls = 85", "minutes = 516", "messages = 56", "mb_used = 22528"):
        assert expected in understood
    assert telecom.get_by_test_id("version").inner_text() == "telecom v1"
    screenshot(page, "chat")


def test_chat_understands_a_model_added_by_config_only(page: Page) -> None:
    # Given the churn model, which exists only as a TOML with a [chat] section and a CSV
    page.select_option("#model-select", "churn")
    page.click("#tab-button-chat")
    # Then the chat tab shows the example sentences of its config (waited for: bank's badge also
    # reads "v1", so the badge alone does not say churn's detail has arrived)
    first_example = page.get_by_test_id("chat-example").nth(0)
    expect(first_example).to_have_text(re.compile(r"^I have been a customer for 12 months"))
    # When the first example is picked and sent
    page.get_by_test_id("chat-example").nth(0).click()
    page.click("#chat-send")
    answer = page.get_by_test_id("chat-answer").nth(0)
    answer.wait_for()
    # Then all four fields it names are understood, with a churn prediction
    chips = {
        chip.get_attribute("data-feature"): chip.inner_text()
        for chip in answer.locator(".understood .chip").all()
    }
    assert chips == {
        "tenure": "tenure = 12",
        "MonthlyCharges": "MonthlyCharges = 70",
        "Contract": "Contract = Month-to-month",
        "InternetService": "InternetService = Fiber optic",
    }
    assert answer.get_by_test_id("version").inner_text() == "churn v1"
    assert "Partner" in answer.get_by_test_id("chat-ask").inner_text()
    # When an implausible value is sent
    page.fill("#chat-input", "customer for 100 years, no partner")
    page.click("#chat-send")
    doubt = page.get_by_test_id("chat-answer").nth(1)
    doubt.wait_for()
    # Then it is asked about and nothing is scored
    assert "tenure = 1200" in doubt.get_by_test_id("chat-doubts").inner_text()
    assert "Before scoring" in doubt.inner_text()
    assert doubt.get_by_test_id("probability").count() == 0
    screenshot(page, "chat-third-model")


def test_metrics_tab_draws_every_chart(page: Page) -> None:
    # When the Metrics tab opens
    page.click("#tab-button-metrics")
    page.wait_for_selector("#metrics-trend svg")

    # Then the headline metrics are listed
    table = page.get_by_test_id("metrics-table").inner_text()
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier"):
        assert name in table
    # and each chart is drawn with data: five evaluation charts and the trend across versions
    charts = page.locator("svg.chart")
    titles = [charts.nth(i).get_attribute("aria-label") for i in range(charts.count())]
    assert titles == [
        "Confusion matrix",
        "ROC curve",
        "Precision-recall curve",
        "Calibration curve",
        "Class distribution of y",
        "Cumulative gains",
        "Main metrics by version",
    ]
    # and the lift table has a row per decile
    assert page.get_by_test_id("lift-table").locator("tr").count() == 11
    cells = [int(t) for t in page.locator("svg.chart text.cell-text").all_text_contents()]
    assert len(cells) == 4
    assert sum(cells) > 1000  # the held-out rows
    for title in ("ROC curve", "Precision-recall curve", "Calibration curve"):
        path = page.locator(f"svg.chart[aria-label='{title}'] path.series").first
        assert (path.get_attribute("d") or "").count("L") >= 5, title
    assert page.locator("svg.chart rect.bar").count() == 4
    trend = page.locator("svg.chart[aria-label='Main metrics by version']")
    assert trend.locator(".marker").count() == 3  # roc_auc, pr_auc, f1 of v1
    assert trend.locator(".marker-champion").count() == 3
    screenshot(page, "metrics")


def test_models_tab_runs_a_retrain_to_its_end(page: Page, stack: LocalStack) -> None:
    page.click("#tab-button-models")
    page.get_by_test_id("versions-table").wait_for()
    assert page.locator("[data-testid=versions-table] tr[data-version]").count() == 1

    # Given a wrong credential, starting a retrain explains the refusal
    page.fill("#admin-token", "not-the-secret")
    page.click("#retrain-start")
    assert "HTTP 401" in banner(page)
    assert "credential" in banner(page)

    # When the right one is given and a labelled CSV is attached
    page.fill("#admin-token", stack.admin_token)
    header = "age,job,marital,education,default,balance,housing,loan,contact,day,month,duration,"
    header += "campaign,pdays,previous,poutcome,y"
    csv = "\n".join(
        [
            header,
            "45,technician,married,secondary,no,1200,yes,no,cellular,5,may,200,1,-1,0,unknown,no",
            "61,retired,married,tertiary,no,9000,no,no,cellular,12,oct,400,1,90,2,success,yes",
        ]
    )
    upload: FilePayload = {"name": "labelled.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    page.set_input_files("#retrain-file", files=[upload])
    page.click("#retrain-start")

    # Then the job is followed until it ends, and the new version shows in the table
    job = page.locator(
        "[data-testid=job][data-status=succeeded], [data-testid=job][data-status=failed]"
    )
    job.wait_for(timeout=JOB_TIMEOUT_MS)
    assert job.get_attribute("data-status") == "succeeded", page.inner_text("#job")
    assert "v2" in page.inner_text("#job")
    page.wait_for_selector("[data-testid=versions-table] tr[data-version=v2].champion")
    assert page.is_hidden("#error-banner")
    # And its feedback hold-out is named: the few labels the other tabs' tests sent (one in five
    # of them held out, by hash) are too few to measure on
    holdout = page.locator("tr[data-version=v2] [data-testid=feedback-holdout]")
    assert re.fullmatch(
        r"feedback hold-out: (no rows|\d rows?, too few to measure)", holdout.inner_text()
    ), holdout.inner_text()
    # And the gate's numbers behind its promotion: how many guards passed, each with its value
    # and limit against the champion or the reference
    gate = page.locator("tr[data-version=v2] [data-testid=gate-evidence]")
    summary = gate.locator("summary").inner_text()
    assert re.fullmatch(r"gate: (\d+) of \1 guards passed", summary), summary
    gate.locator("summary").click()
    first = gate.locator("li.passed").first.inner_text()
    assert re.search(r"vs (champion|reference).*\(limit -?\d", first), first
    screenshot(page, "models")

    # When v1 is promoted back by hand, then rolled back
    page.click("[data-testid=versions-table] tr[data-version=v1] button.promote")
    page.wait_for_selector("[data-testid=versions-table] tr[data-version=v1].champion")
    page.wait_for_selector("#champion-badge:has-text('serving v1')")
    page.click("#rollback")

    # Then the champion is v2 again and the page says so
    page.wait_for_selector("[data-testid=versions-table] tr[data-version=v2].champion")
    assert "rolled back to v2" in page.inner_text("#job")
    page.wait_for_selector("#champion-badge:has-text('serving v2')")
    page.wait_for_selector("[data-testid=challenger-none]")

    # When an admin puts v1 on trial in shadow against v2
    status, body = call_json(
        "PUT",
        f"{stack.url}/models/bank/challenger",
        {"version": "v1", "mode": "shadow"},
        {"X-Admin-Token": stack.admin_token},
    )
    assert status == 200, body
    page.click("#tab-button-chat")
    page.click("#tab-button-models")
    # Then the Models tab shows the challenger, its mode and share, and its live labels so far
    active = page.locator("[data-testid=challenger-active]")
    active.wait_for()
    text = active.inner_text()
    assert "v1 in shadow against v2" in text and "answers no one" in text, text
    assert "live labels: 0 of " in text, text
    call_json(
        "DELETE",
        f"{stack.url}/models/bank/challenger",
        {"reason": "dashboard test over"},
        {"X-Admin-Token": stack.admin_token},
    )


def test_drift_tab_highlights_the_drifted_features(page: Page, stack: LocalStack) -> None:
    # Given served traffic whose balances are far above the training data's (250 rows: the
    # shipped minimum window is 200)
    rows = [
        {"age": 30 + i % 40, "balance": 250_000 + 1_000 * i, "job": "management"}
        for i in range(250)
    ]
    # in batches of 25: a batch logs at most BATCH_LOG_ROWS (25) rows, a larger one a sample
    for start in range(0, len(rows), 25):
        batch = {"rows": rows[start : start + 25]}
        status, _ = call_json("POST", f"{stack.url}/models/bank/predict/batch", batch)
        assert status == 200
    # and the scheduled run that computes drift reports
    schedule = json.loads((REPO_ROOT / "events" / "schedule.json").read_text())
    stack.invoke("RetrainFunction", schedule)

    # When the Drift tab opens
    page.click("#tab-button-drift")
    page.get_by_test_id("drift-table").wait_for()

    # Then every feature is listed and exactly the drifted ones are highlighted
    _, report = call_json("GET", f"{stack.url}/models/bank/drift")
    assert "balance" in report["drifted_features"]
    listed = page.locator("[data-testid=drift-table] tr[data-feature]")
    assert listed.count() == len(report["features"])
    highlighted = page.locator("[data-testid=drift-table] tr.drifted")
    assert sorted(r.get_attribute("data-feature") or "" for r in highlighted.all()) == sorted(
        report["drifted_features"]
    )
    assert "balance" in page.get_by_test_id("drift-status").inner_text()
    screenshot(page, "drift")


def test_api_errors_show_as_readable_messages(page: Page) -> None:
    # When the chat gets a sentence with nothing it can read
    page.click("#tab-button-chat")
    page.fill("#chat-input", "hola, ¿qué tal?")
    page.click("#chat-send")

    # Then the reason is in the page (banner and chat), not a blank screen or raw JSON
    text = banner(page)
    assert text.startswith("Chat: message: no feature of model 'bank' was understood")
    assert "HTTP 422" in text
    assert "{" not in text
    assert "no feature" in page.locator(".bubble.error").inner_text()
    assert page.locator("#tab-chat").is_visible()
    screenshot(page, "error")


def test_api_docs_link_lists_every_operation_and_tries_one(page: Page, stack: LocalStack) -> None:
    # Given the operations the OpenAPI document describes
    _, spec = call_json("GET", f"{stack.url}/openapi.json")
    documented = [
        (m.upper(), path, op) for path, item in spec["paths"].items() for m, op in item.items()
    ]
    operations = {(method, path) for method, path, _ in documented}
    # (Swagger UI lists an operation once under each of its tags)
    listings = sum(len(op.get("tags") or ["default"]) for _, _, op in documented)
    refused: list[str] = []  # what the Content-Security-Policy blocked, as Chromium reports it
    page.on("console", lambda m: _note_refusal(m, refused))

    # When the dashboard's "API docs" link is followed
    page.get_by_role("link", name="API docs").click()
    page.wait_for_url(re.compile(rf"^{re.escape(stack.url)}(/dev)?/docs$"))
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(listings)

    # Then Swagger UI (the shipped bundle) lists every operation of the API
    listed = {
        (
            block.locator(".opblock-summary-method").inner_text(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    }
    assert listed == operations
    # And Try it out calls this API (the document's server) and shows the answer
    health = blocks.filter(has=page.locator("[data-path='/health']"))
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    expect(
        health.locator(".live-responses-table tr.response .response-col_status").first
    ).to_have_text("200")
    # and the policy had nothing to refuse: no inline script or style, no other origin
    assert refused == []
    screenshot(page, "docs")


def _note_refusal(message: ConsoleMessage, refused: list[str]) -> None:
    if "Content Security Policy" in message.text:
        refused.append(message.text)


def test_the_page_loaded_nothing_from_elsewhere(
    requested_urls: list[str], stack: LocalStack
) -> None:
    # Given every request the tabs above made
    assert len(requested_urls) > 20
    foreign = [u for u in requested_urls if not u.startswith(f"{stack.url}/")]
    # Then all went to the service itself (no CDN, fonts or analytics)
    assert foreign == []


def test_screenshots_of_each_tab_were_saved() -> None:
    saved = {p.stem for p in SCREENSHOTS.glob("*.png")}
    assert {"predict", "chat", "metrics", "models", "drift", "docs"} <= saved
