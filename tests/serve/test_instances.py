"""The schema-instance generator: a value valid under the schemas pydantic and LangChain emit, in the shop's words."""

from __future__ import annotations

import datetime
import json
from enum import Enum
from typing import Any, Literal, Optional, Union

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from flowertui.serve.instances import instance


class Size(int, Enum):
    small = 5
    large = 21


class Stem(BaseModel):
    flower: str
    colour: Literal["red", "white", "pink"]
    count: int = Field(ge=3, le=99, multiple_of=3)


class Card(BaseModel):
    message: str = Field(min_length=20, max_length=40)
    signed: bool


class Node(BaseModel):
    name: str
    children: list["Node"] = []
    parent: Optional["Node"] = None


class Order(BaseModel):
    """Everything at once: nesting, lists, enums, unions, dates, maps, recursion, constraints."""

    recipient: str
    occasion: str
    when: datetime.date
    at: datetime.datetime
    size: Size
    stems: list[Stem] = Field(min_length=2, max_length=3)
    tags: set[str] = Field(min_length=3)
    card: Optional[Card]
    price_cny: float = Field(gt=0, lt=1000)
    budget: Union[int, str, None] = None
    notes: dict[str, int] = {}
    pair: tuple[str, int]
    tree: Node
    extra: Any = None


@pytest.mark.parametrize("model", [Stem, Card, Node, Order])
@pytest.mark.parametrize("message", ["Red roses for my mother's birthday, budget 200 yuan", "我想给妈妈买康乃馨", ""])
def test_pydantic_schemas_get_valid_instances(model, message):
    value = instance(model.model_json_schema(), message)
    model.model_validate(value)
    json.dumps(value)  # plain JSON


@pytest.mark.parametrize("model", [Stem, Node, Order])
def test_langchains_function_schemas_get_valid_instances(model):
    """convert_to_openai_tool inlines $refs (and leaves `{}` where a model refers to itself)."""
    parameters = convert_to_openai_tool(model)["function"]["parameters"]
    model.model_validate(instance(parameters, "white lilies for a wedding"))


def test_values_come_from_the_message_in_its_language():
    schema = Stem.model_json_schema()
    assert instance(schema, "two dozen tulips please")["flower"] == "tulips"
    assert instance(schema, "我要百合")["flower"] == "百合"
    order = instance(Order.model_json_schema(), "Roses for my sister's birthday")
    assert order["recipient"] == "sister" and order["occasion"] == "a birthday"
    assert instance({"type": "object", "properties": {"query": {"type": "string"}}}, "roses?") == {"query": "roses?"}


def test_the_same_schema_and_message_give_the_same_value():
    schema = Order.model_json_schema()
    assert instance(schema, "roses") == instance(schema, "roses")


def test_hand_written_schemas():
    assert instance({"type": ["null", "integer"], "minimum": 7}, "") == 7
    assert instance({"enum": ["a", "b"]}, "") == "a"
    assert instance({"const": 3}, "") == 3
    assert instance({"type": "array", "items": {"type": "number"}, "minItems": 3, "uniqueItems": True}, "") == [1.0, 2.0, 3.0]
    assert instance({"type": "string", "format": "email"}, "") == "shop@example.com"
    merged = instance({"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"b": {"type": "boolean"}}}]}, "")
    assert merged == {"a": 1, "b": True}
    assert isinstance(instance({"$ref": "#/nowhere"}, ""), str)  # an unresolvable reference is an open schema
    assert instance({"$ref": "#"}, "") is None  # a schema that is only itself ends at the depth limit
