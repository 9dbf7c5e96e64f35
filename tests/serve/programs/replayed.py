"""Five model calls (chat, streamed chat, Responses API, streamed Responses API, legacy completion), each printed as one
CALL line with its reply and usage: run once offline, then again against `flowertui serve --replay`."""

import json

from langchain_openai import ChatOpenAI, OpenAI


def said(kind, message):
    usage = message.usage_metadata or {}
    print("CALL", json.dumps({"kind": kind, "text": message.text, "model": message.response_metadata.get("model_name"),
                              "input": usage.get("input_tokens"), "output": usage.get("output_tokens")},
                             ensure_ascii=False, sort_keys=True), flush=True)


said("chat", ChatOpenAI(model="gpt-4o-mini").invoke("Which flowers suit a birthday?"))
said("stream", ChatOpenAI(model="gpt-4o-mini", streaming=True, stream_usage=True).invoke("Tell me about roses"))
said("responses", ChatOpenAI(model="gpt-4o-mini", use_responses_api=True).invoke("Do you deliver?"))
said("responses stream", ChatOpenAI(model="gpt-4o-mini", use_responses_api=True, streaming=True).invoke("Any lilies?"))
result = OpenAI(model="gpt-3.5-turbo-instruct").generate(["Peonies or tulips?"])
print("CALL", json.dumps({"kind": "completion", "text": result.generations[0][0].text,
                          "usage": result.llm_output.get("token_usage")},
                         ensure_ascii=False, sort_keys=True), flush=True)
