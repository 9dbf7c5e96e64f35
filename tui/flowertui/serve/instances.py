"""A value that validates against a JSON schema, filled with the flower shop's words.

Tool arguments and `response_format` replies must parse into the caller's types
(a pydantic model, a tool's argument schema), so the offline assistant builds an
instance of the schema it was given: objects with every declared property,
arrays of their minimum length (at least one item), the first enum value,
strings and numbers chosen by the property's name from what the customer said
("flower" gets a flower the message names, "query" the message itself), and
$ref/$defs, anyOf/oneOf/allOf and nullable types as pydantic emits them. The
same schema and message always give the same value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flowertui.engine.shop_replies import Flower, catalog, extract_facts, language, rank

MAX_DEPTH = 12  # a recursive $ref stops here with its smallest valid value
TEXT_FIELDS = ("query", "question", "input", "text", "message", "prompt", "content", "search", "request", "topic")
DATE_FORMATS = {"date": "2026-05-20", "date-time": "2026-05-20T10:00:00Z", "time": "10:00:00",
                "email": "shop@example.com", "uri": "https://example.com/flowers", "url": "https://example.com/flowers",
                "uuid": "00000000-0000-4000-8000-000000000000", "hostname": "example.com", "ipv4": "127.0.0.1"}


@dataclass(frozen=True)
class Context:
    """What the values are drawn from: the customer's message, its language, and the schema's root."""

    message: str
    root: dict[str, Any]

    @property
    def lang(self) -> str:
        return language(self.message)


def instance(schema: Any, message: str) -> Any:
    """A value valid under `schema`, built from the customer's `message`."""
    root = schema if isinstance(schema, dict) else {}
    return _value(root, Context(message, root), "", 0)


def _value(schema: Any, context: Context, name: str, depth: int, chain: tuple[str, ...] = ()) -> Any:
    """`chain` holds the $refs being expanded, so a recursive model ends where it may (null, no items)."""
    if not isinstance(schema, dict):
        return _string({}, context, name)  # `true` or a malformed schema: anything goes
    if "$ref" in schema:
        ref = schema["$ref"]
        return _value(_resolve(ref, context.root), context, name, depth + 1, (*chain, ref)) if depth < MAX_DEPTH else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _value(_option(schema[key], depth, chain), context, name, depth + 1, chain)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _resolve(part["$ref"], context.root) if isinstance(part, dict) and "$ref" in part else part
            if isinstance(part, dict):
                merged = _merge(merged, part)
        return _value(merged, context, name, depth + 1, chain)
    kind = _kind(schema, depth)
    if kind == "object":
        return _object(schema, context, depth, chain)
    if kind == "array":
        return _array(schema, context, name, depth, chain)
    if kind == "string":
        return _string(schema, context, name)
    if kind in ("integer", "number"):
        return _number(schema, context, name, kind == "integer")
    if kind == "boolean":
        return True
    return None


def _kind(schema: dict[str, Any], depth: int) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the non-null one, unless too deep
        kinds = [k for k in kind if k != "null"]
        return "null" if not kinds or (depth >= MAX_DEPTH and "null" in kind) else kinds[0]
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _option(options: list[Any], depth: int, chain: tuple[str, ...]) -> Any:
    """The first option that is not null; null ends a recursion (a $ref being expanded, or the `{}`
    LangChain leaves where a model refers to itself)."""
    nulls = [o for o in options if isinstance(o, dict) and o.get("type") == "null"]
    others = [o for o in options if o not in nulls]
    if nulls and (depth >= MAX_DEPTH or not others or all(_recursive(o, chain) for o in others)):
        return nulls[0]
    return (others or options)[0]


def _recursive(schema: Any, chain: tuple[str, ...]) -> bool:
    return schema == {} or (isinstance(schema, dict) and schema.get("$ref") in chain)


def _resolve(ref: Any, root: dict[str, Any]) -> Any:
    """A local reference ("#/$defs/Name", "#/definitions/Name", "#"); anything else is an open schema."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return {}
    node: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node


def _merge(base: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: v for k, v in part.items() if k not in ("properties", "required")}}
    merged["properties"] = {**base.get("properties", {}), **part.get("properties", {})}
    merged["required"] = [*base.get("required", []), *part.get("required", [])]
    return merged


def _object(schema: dict[str, Any], context: Context, depth: int, chain: tuple[str, ...]) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = [r for r in schema.get("required", []) if isinstance(r, str)]
    value = {key: _value(sub, context, key, depth + 1, chain) for key, sub in properties.items()
             if key in required or not _recursive(sub, chain)}
    for key in required:  # required without a declared schema: any value
        value.setdefault(key, _string({}, context, key))
    minimum = schema.get("minProperties")
    extra = schema.get("additionalProperties")
    if isinstance(minimum, int) and len(value) < minimum and extra is not False:
        for index in range(len(value), minimum):
            value[f"item_{index + 1}"] = _value(extra if isinstance(extra, dict) else {}, context, "", depth + 1, chain)
    return value


def _array(schema: dict[str, Any], context: Context, name: str, depth: int, chain: tuple[str, ...]) -> list[Any]:
    prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
    items = schema.get("items", {})
    low = schema.get("minItems", 0) if isinstance(schema.get("minItems"), int) else 0
    high = schema.get("maxItems") if isinstance(schema.get("maxItems"), int) else None
    count = max(low, len(prefix), 0 if depth >= MAX_DEPTH or _recursive(items, chain) else 1)
    if high is not None:
        count = min(count, high)
    singular = name[:-1] if name.endswith("s") else name
    values = [_value(prefix[i] if i < len(prefix) else items, context, singular, depth + 1, chain)
              for i in range(count)]
    if schema.get("uniqueItems") and len(values) > 1:
        values = _distinct(values, context)
    return values


def _distinct(values: list[Any], context: Context) -> list[Any]:
    """Unique items: the shop's flowers in turn for strings, counting numbers for numbers."""
    first = values[0]
    if isinstance(first, str):
        names = [f.names[context.lang] for f in _flowers(context.message)]
        return [names[i % len(names)] + ("" if i < len(names) else f" {i}") for i in range(len(values))]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return [first + i for i in range(len(values))]
    return values


def _string(schema: dict[str, Any], context: Context, name: str) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in DATE_FORMATS:
        text = DATE_FORMATS[fmt]
    else:
        text = _words(context, name.lower())
    low = schema.get("minLength") if isinstance(schema.get("minLength"), int) else 0
    high = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None
    if len(text) < low:
        text += "-" * (low - len(text))
    return text[:high] if high is not None else text


def _words(context: Context, name: str) -> str:
    """The shop's word for a property called `name`, from what the customer said."""
    lang = context.lang
    facts = extract_facts(context.message)
    flowers = _flowers(context.message)
    shop = catalog()
    if any(word in name for word in TEXT_FIELDS):
        return context.message.strip()[:500] or flowers[0].names[lang]
    if "colo" in name:
        colour = facts.colours[0] if facts.colours else flowers[0].colours[0]
        return _label(shop.colours.get(colour, {}), lang) or colour
    if "occasion" in name or "event" in name:
        occasion = facts.occasions[0] if facts.occasions else "birthday"
        return _label(shop.occasions.get(occasion, {}), lang) or occasion
    if "recipient" in name or name in ("who", "for", "person"):
        recipient = facts.recipients[0][0] if facts.recipients else "friend"
        return _label(shop.recipients.get(recipient, {}), lang) or recipient
    if "meaning" in name or "reason" in name or "description" in name or "why" in name:
        return flowers[0].meanings[lang]
    if "season" in name:
        return flowers[0].seasons[lang]
    if "lang" in name:
        return lang
    return flowers[0].names[lang]  # "flower", "name", anything else: the flower the shop would suggest


def _flowers(message: str) -> list[Flower]:
    """The shop's flowers, those the customer named first, then as the shop ranks them."""
    facts = extract_facts(message)
    ranked = rank(facts)
    return sorted(ranked, key=lambda flower: flower.id not in facts.flowers)


def _label(entry: dict[str, Any], lang: str) -> str:
    label = entry.get(lang)
    return label if isinstance(label, str) else ""


def _number(schema: dict[str, Any], context: Context, name: str, integer: bool) -> int | float:
    flowers = _flowers(context.message)
    if re.search(r"price|cost|amount|budget|total", name):
        value: float = flowers[0].price_cny
    elif re.search(r"count|quantity|stems|number|num|qty|size", name):
        value = flowers[0].bouquet_stems
    else:
        value = 1
    low, high = schema.get("minimum"), schema.get("maximum")
    low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1 if integer else 0.5
    if _numeric(low) and value < low:
        value = low
    if _numeric(low_x) and value <= low_x:
        value = low_x + step
    if _numeric(high) and value > high:
        value = high
    if _numeric(high_x) and value >= high_x:
        value = high_x - step
    multiple = schema.get("multipleOf")
    if _numeric(multiple) and multiple > 0:
        value = round(value / multiple) * multiple
    return int(value) if integer else float(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
