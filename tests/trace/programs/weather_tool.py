"""The OpenAI cookbook's weather tool and messages, streamed from argv[1] without usage (no stream_usage)."""

import sys

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return",
                 "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}

llm = ChatOpenAI(model="gpt-4o-mini", base_url=sys.argv[1], api_key="sk-x", streaming=True).bind_tools([WEATHER_TOOL])
reply = llm.invoke([SystemMessage("You are a helpful assistant that can answer to questions about the weather."),
                    HumanMessage("What's the weather like in San Francisco?")])
print(reply.content)
