# 思考题 2：在请求过程（run / invoke）中引入回调机制，和构造函数回调对比
# Exercise 2: example 3's sync handler stays in the model's constructor; the exercise's
# MyCallBackHandler is passed with the request instead. The request handler is inherited
# by every run below the call (the chain, its prompt, its model); the constructor handler
# sees only the model's own run.
from langchain_openai import ChatOpenAI
from langchain_classic.chains import LLMChain
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.prompts import PromptTemplate


# 构造函数回调（示例 3 的同步回调处理器）
class MyFlowerShopSyncHandler(BaseCallbackHandler):
    def on_llm_new_token(self, token: str, **kwargs) -> None:
        print(f"获取花卉数据: token: {token}")


# 请求回调（思考题 2）
class MyCallBackHandler(BaseCallbackHandler):
    def on_chain_start(self, serialized, inputs, **kwargs) -> None:
        print(f"请求回调: 链开始 {inputs}")

    def on_llm_start(self, serialized, prompts, **kwargs) -> None:
        print("请求回调: 模型开始")

    def on_llm_new_token(self, token: str, **kwargs) -> None:
        print(f"recv token: {token}")

    def on_chain_end(self, outputs, **kwargs) -> None:
        print("请求回调: 链结束")


llm = ChatOpenAI(
    max_tokens=60,
    streaming=True,
    # Not in the lesson: ChatOpenAI asks a server other than api.openai.com for streamed
    # usage only when told to, and without usage nothing can count this call's tokens.
    stream_usage=True,
    callbacks=[MyFlowerShopSyncHandler()],
)
prompt = PromptTemplate.from_template("哪种花卉最适合{occasion}？只简单说3种，不超过50字")

chain = LLMChain(llm=llm, prompt=prompt)
print("=== chain.run(occasion=..., callbacks=[MyCallBackHandler()]) ===")
chain.run(occasion="生日", callbacks=[MyCallBackHandler()])

# 同样的请求回调，用 LangChain 1.x 的 invoke 和 config 传入
print("\n=== (prompt | llm).invoke(..., config={'callbacks': [MyCallBackHandler()]}) ===")
(prompt | llm).invoke({"occasion": "纪念日"}, config={"callbacks": [MyCallBackHandler()]})
