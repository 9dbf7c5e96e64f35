"""Checking exports and events against docs/events.schema.json, the JSONL export's contract.

The schema's `event` is a oneOf over one alternative per event kind, each pinning `kind` with its own const.
An event can then only match the alternative of its own kind, so checking that one alternative is checking
`event` (oneOf's "exactly one" holds by construction); `_by_kind` asserts the pinning, so a schema that stops
pinning fails every test here instead of being checked loosely. This takes ~1/60 of the time of handing each
event to the whole oneOf (every alternative tried, twice through the root's anyOf).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "events.schema.json").read_text("utf-8"))
_VALIDATOR = jsonschema.Draft202012Validator


@cache
def _header():
    return _VALIDATOR({**SCHEMA, "$ref": "#/$defs/header"})


@cache
def _by_kind() -> dict[str, jsonschema.protocols.Validator]:
    """kind → a validator of `event` narrowed to that kind's alternative."""
    defs = SCHEMA["$defs"]
    event = defs["event"]
    rest = {key: value for key, value in event.items() if key != "oneOf"}
    assert set(rest) <= {"description", "type", "required"}, f"`event` has more than its oneOf to check: {rest}"
    validators = {}
    for alternative in event["oneOf"]:
        kind = defs[alternative["$ref"].removeprefix("#/$defs/")]["properties"]["kind"]["const"]
        assert kind not in validators, f"two alternatives of `event` pin kind {kind!r}"
        narrowed = {"$schema": SCHEMA["$schema"], "$defs": defs, **rest, "$ref": alternative["$ref"]}
        validators[kind] = _VALIDATOR(narrowed)
    return validators


def check_event(event: dict) -> None:
    """Fail, naming the event's kind and what is wrong, unless `event` is valid under the schema's `event`."""
    kind = event.get("kind") if isinstance(event, dict) else None
    validator = _by_kind().get(kind) if isinstance(kind, str) else None
    assert validator is not None, f"no alternative of `event` has kind {kind!r}"
    errors = sorted(validator.iter_errors(event), key=str)
    assert not errors, (kind, [e.message for e in errors][:3])


def check_header(header: dict) -> None:
    _header().validate(header)


def validate(path: Path) -> list[dict]:
    """Every line of a JSONL export checked: the header against `header`, each event against `event`; the events."""
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    check_header(lines[0])
    for line in lines[1:]:
        check_event(line)
    return lines[1:]
