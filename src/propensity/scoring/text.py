"""What every category value passes before it is stored, logged or answered back (stdlib only)."""

from __future__ import annotations

from propensity.errors import InvalidInputError

# The longest category value accepted anywhere (predictions, feedback, uploaded CSVs): an unseen
# value is logged with the prediction, so an unbounded one would break the log's item size.
MAX_CATEGORY_LENGTH = 200


def is_valid_text(value: str) -> bool:
    """Whether ``value`` can be stored and answered as UTF-8.

    JSON's ``\\ud800`` escape decodes to a lone surrogate, which is a Python ``str`` but not
    Unicode text: it cannot be encoded, logged or echoed back.
    """
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(field: str, value: str) -> None:
    """InvalidInputError for ``field`` unless ``value`` can be stored and answered back."""
    if not is_valid_text(value):
        raise InvalidInputError(field, "is not valid Unicode text (lone surrogate)")


def check_category(field: str, value: str) -> None:
    """The checks every category value passes before it is stored, logged or echoed."""
    if len(value) > MAX_CATEGORY_LENGTH:
        raise InvalidInputError(field, f"longer than {MAX_CATEGORY_LENGTH} characters")
    check_text(field, value)
