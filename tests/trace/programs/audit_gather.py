"""Audit test program: three calls of one model at once (asyncio.gather), prompts of different lengths."""
import asyncio

from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini", streaming=True, stream_usage=True)
prompts = ["roses?", "which flowers for my sister's birthday tomorrow, she likes pink?", "tulips " * 40]


async def main():
    for reply in await asyncio.gather(*(llm.ainvoke(prompt) for prompt in prompts)):
        print(reply.content[:20])


asyncio.run(main())
