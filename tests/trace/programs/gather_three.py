"""Three agenerate calls at once in one asyncio.gather (the lesson's concurrency example)."""

import asyncio
import sys

from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini", base_url=sys.argv[1], api_key="sk-x", streaming=True, stream_usage=True)


async def main():
    results = await asyncio.gather(*(llm.agenerate([[HumanMessage(f"flower {n}")]]) for n in range(3)))
    for result in results:
        print(result.generations[0][0].text)


asyncio.run(main())
