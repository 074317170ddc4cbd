"""Reading infra/template.yaml: its short-form tags, and its conditions (``Conditions:`` with
Fn::Equals, Not, And, Or) under a local stack's parameters, so ``Fn::If`` resolves as
CloudFormation would for that deployment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[3] / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags (!Ref, !Sub …) as {"Fn": value}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)  # type: ignore[no-untyped-call]


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    return template


def holds(conditions: Mapping[str, Any], name: str, resolve: Callable[[Any], Any]) -> bool:
    def check(expression: Any) -> bool:
        ((key, arg),) = expression.items()
        if key == "Fn::Equals":
            return str(resolve(arg[0])) == str(resolve(arg[1]))
        if key == "Fn::Not":
            return not check(arg[0])
        if key == "Fn::And":
            return all(check(a) for a in arg)
        if key == "Fn::Or":
            return any(check(a) for a in arg)
        if key in ("Condition", "Fn::Condition"):
            return holds(conditions, str(arg), resolve)
        raise ValueError(f"condition function {key} is not supported locally")

    return check(conditions[name])
