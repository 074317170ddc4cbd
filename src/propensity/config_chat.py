"""The ``[chat]`` section of a model config: how people name its features in a message.

Kept apart from ``config.py`` (which embeds ``ChatConfig`` in ``ModelConfig``) so each file
stays one responsibility; the chat package reads it through ``propensity.chat.lexicon``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChatFeatureConfig(_Strict):
    """How people name one feature in a chat message (see the README's chat section)."""

    # Words naming the feature, by language (the language also tells how to reply).
    es: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)
    # Words written next to a number of this feature, with the factor to the feature's unit.
    units: dict[str, float] = Field(default_factory=dict)
    # Synonyms of each category value (the value itself is always understood too).
    values: dict[str, list[str]] = Field(default_factory=dict)
    # The category meant when a value is negated ("not married" = single).
    opposites: dict[str, str] = Field(default_factory=dict)
    # Synonyms that count only in a clause that also names the feature ("may" the month).
    ambiguous: list[str] = Field(default_factory=list)
    # Every value counts only in a clause naming the feature ("previous campaign ... failed").
    needs_alias: bool = False
    # A word right before the number that means it is not this feature ("worked 42 years").
    not_after: list[str] = Field(default_factory=list)
    # A number next to a value of this categorical feature is this feature ("15 de junio").
    next_to: str | None = None
    # A number standing alone in a clause ("student, 21, single") is this feature.
    bare_number: bool = False


class ChatPhrase(_Strict):
    """Fixed wordings that set several features at once ("never contacted")."""

    says: Annotated[list[str], Field(min_length=1)]
    sets: Annotated[dict[str, float | str], Field(min_length=1)]


class ChatConfig(_Strict):
    """The model's chat lexicon. Without it, feature names and category values are understood
    as they are written."""

    examples: list[str] = Field(default_factory=list)
    # How a yes/no question is answered; a categorical with a yes and a no category is binary.
    yes: list[str] = Field(default_factory=lambda: ["yes", "si", "sí", "true"])
    no: list[str] = Field(default_factory=lambda: ["no", "false", "none"])
    features: dict[str, ChatFeatureConfig] = Field(default_factory=dict)
    phrases: list[ChatPhrase] = Field(default_factory=list)
