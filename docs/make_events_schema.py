"""Write docs/events.schema.json: the JSON Schema of flowertui's JSONL export, generated from engine/events.py.

    python docs/make_events_schema.py          # rewrite the file
    python docs/make_events_schema.py --check  # exit 1 when the committed file is out of date

A test checks the committed file equals what this generates. Standard library only:
the records are frozen dataclasses, read through their type hints.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from flowertui.engine import events

SCHEMA_FILE = Path(__file__).with_name("events.schema.json")
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def schema() -> dict[str, Any]:
    """The whole document: a line is the header or an event; an event's kind decides its payload."""
    defs: dict[str, Any] = {}
    kinds = {}
    for kind, payloads in events.PAYLOADS.items():
        refs = [_ref(cls, defs) for cls in payloads]
        kinds[kind] = {
            "description": " or ".join(cls.__name__ for cls in payloads) + f" payload ({events.family_of(kind)} family)",
            "allOf": [{"$ref": "#/$defs/envelope"}],
            "properties": {"kind": {"const": kind}, "payload": refs[0] if len(refs) == 1 else {"anyOf": refs}},
        }
    envelope_hints = typing.get_type_hints(events.Event)
    envelope = {"type": "object", "description": "What every event has; `payload` depends on `kind`.",
                "properties": {f.name: _type(envelope_hints[f.name], defs) for f in dataclasses.fields(events.Event)
                               if f.name != "payload"},
                "required": [f.name for f in dataclasses.fields(events.Event)]}
    envelope["properties"]["payload"] = {"type": "object"}
    header = {"description": "The first line of an export.",
              "anyOf": [_ref(events.ChatHeader, defs), _ref(events.TraceHeader, defs)]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "flowertui JSONL export",
        "description": (f"Schema version {events.SCHEMA_VERSION}. One JSON object per line: the header line, then "
                        "one event per line in `seq` order. Payloads may carry keys not listed here (kept from "
                        "newer or older versions); a reader ignores what it does not know. Generated from "
                        "tui/flowertui/engine/events.py by docs/make_events_schema.py."),
        "x-schema-version": events.SCHEMA_VERSION,
        "anyOf": [{"$ref": "#/$defs/header"}, {"$ref": "#/$defs/event"}],
        "$defs": {
            "header": header,
            "event": {"description": "One event, discriminated by `kind`.", "type": "object",
                      "required": ["kind"], "oneOf": [{"$ref": f"#/$defs/kind.{kind}"} for kind in kinds]},
            "envelope": envelope,
            **{f"kind.{kind}": body for kind, body in kinds.items()},
            **dict(sorted(defs.items())),
        },
    }


def _ref(cls: type, defs: dict[str, Any]) -> dict[str, str]:
    if cls.__name__ not in defs:
        defs[cls.__name__] = {}  # placeholder: records may refer to each other
        hints = typing.get_type_hints(cls)
        body: dict[str, Any] = {"type": "object"}
        if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):  # dataclass's made-up docstring
            body["description"] = " ".join(cls.__doc__.split())
        body["properties"] = {json_key: _type(hints[name], defs) for name, json_key, _ in events._fields(cls)}
        body["required"] = events.required(cls)
        defs[cls.__name__] = body
    return {"$ref": f"#/$defs/{cls.__name__}"}


def _type(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if hint is Any:
        return {}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (typing.Union, types.UnionType):
        options = [_type(arg, defs) for arg in typing.get_args(hint)]
        if all(set(o) == {"type"} for o in options):
            return {"type": [o["type"] for o in options]}
        return {"anyOf": options}
    if origin is list:
        return {"type": "array", "items": _type(typing.get_args(hint)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(typing.get_args(hint)[1], defs)}
    if isinstance(hint, type) and issubclass(hint, events.Record):
        return _ref(hint, defs)
    raise TypeError(f"no JSON Schema type for {hint!r}")


def render() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv[1:]:
        sys.exit(0 if SCHEMA_FILE.read_text("utf-8") == text else 1)
    SCHEMA_FILE.write_text(text, "utf-8")
    print(f"wrote {SCHEMA_FILE}")
