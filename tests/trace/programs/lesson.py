"""The lesson's handlers, verbose=True and get_openai_callback against an OpenAI-compatible server (argv[1])."""

import asyncio
import json
import sys

from langchain_classic.chains import ConversationChain
from langchain_classic.memory import ConversationBufferMemory
from langchain_community.callbacks import get_openai_callback
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI


class MyFlowerShopSyncHandler(BaseCallbackHandler):
    def on_llm_new_token(self, token, **kwargs):
        print(f"获取花卉数据: token: {token}")


class MyFlowerShopAsyncHandler(AsyncCallbackHandler):
    async def on_llm_start(self, serialized, prompts, **kwargs):
        print("正在获取花卉数据...")
        await asyncio.sleep(0.01)
        print("花卉数据获取完毕。提供建议...")

    async def on_llm_end(self, response, **kwargs):
        print("整理花卉建议...")
        await asyncio.sleep(0.01)
        print("祝你今天愉快！")


llm = ChatOpenAI(model="gpt-4o-mini", base_url=sys.argv[1], api_key="sk-lessonsecret0123456789abcdef",
                 streaming=True, stream_usage=True, callbacks=[MyFlowerShopSyncHandler()])
prompt = ChatPromptTemplate.from_template("What flower suits {occasion}?")
with get_openai_callback() as cb:
    (prompt | llm).invoke({"occasion": "a birthday"}, config={"callbacks": [MyFlowerShopAsyncHandler()]})
    conversation = ConversationChain(llm=llm, memory=ConversationBufferMemory(), verbose=True)
    conversation.invoke({"input": "我姐姐明天要过生日，我需要一束生日花束。"})
print("CALLBACK " + json.dumps({"prompt_tokens": cb.prompt_tokens, "completion_tokens": cb.completion_tokens,
                                "total_tokens": cb.total_tokens, "total_cost": cb.total_cost}))
