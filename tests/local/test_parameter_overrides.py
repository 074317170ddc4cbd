"""Template parameters set the way SAM takes them: ``propensity serve --parameter-overrides``."""

from __future__ import annotations

import pytest

from propensity.cli import main
from propensity.local.template import Stack, parse_parameter_overrides


def test_overrides_reach_the_functions_environment() -> None:
    # Given overrides in both of SAM's spellings
    overrides = parse_parameter_overrides(
        ["RetrainMinFeedback=300", "ParameterKey=ModelRefreshSeconds,ParameterValue=0"]
    )
    # When the stack is made from the template with them
    stack = Stack(parameters=overrides)
    functions = stack.functions()
    # Then the functions see the values, as they would after sam deploy
    assert functions["RetrainFunction"].environment["RETRAIN_MIN_FEEDBACK"] == "300"
    assert functions["PredictFunction"].environment["MODEL_REFRESH_SECONDS"] == "0"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ("Nope=1", "no parameter 'Nope' in the template"),
        ("FeedbackAuth=maybe", "must be one of required, off"),
        ("RetrainMinFeedback=-3", "must be within"),
        ("RetrainMinFeedback=many", "must be a number"),
        ("Stage=Prod!", "must match"),
    ],
)
def test_a_bad_override_is_refused_naming_the_parameter_and_the_rule(
    override: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When serve is started with it, Then it stops before starting anything, saying why
    assert main(["serve", "--port", "0", "--parameter-overrides", override]) == 2
    error = capsys.readouterr().err
    assert reason in error and override.split("=")[0] in error


def test_an_override_that_is_not_key_value_is_refused() -> None:
    with pytest.raises(ValueError, match="is not KEY=VALUE"):
        parse_parameter_overrides(["garbage"])
