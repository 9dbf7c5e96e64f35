# 思考题 2：在请求过程（run / invoke）中引入回调机制，和构造函数回调对比
# Exercise 2: one handler given to the model's constructor, one passed with the request.
# The request handler is inherited by every run below the call (the chain and its model);
# the constructor handler sees only the model's own run.
from langchain_openai import ChatOpenAI
from langchain_classic.chains import LLMChain
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.prompts import PromptTemplate


class MyCallBackHandler(BaseCallbackHandler):
    def __init__(self, name: str) -> None:
        self.name = name

    def on_chain_start(self, serialized, inputs, **kwargs) -> None:
        print(f"[{self.name}] 链开始: {inputs}")

    def on_llm_start(self, serialized, prompts, **kwargs) -> None:
        print(f"[{self.name}] 模型开始")

    def on_llm_new_token(self, token: str, **kwargs) -> None:
        print(f"[{self.name}] recv token: {token}")

    def on_chain_end(self, outputs, **kwargs) -> None:
        print(f"[{self.name}] 链结束")


# 构造函数回调：只作用于这个模型对象自己的运行
llm = ChatOpenAI(
    max_tokens=60,
    streaming=True,
    # Not in the lesson: ChatOpenAI asks a server other than api.openai.com for streamed
    # usage only when told to.
    stream_usage=True,
    callbacks=[MyCallBackHandler("构造函数回调")],
)
prompt = PromptTemplate.from_template("哪种花卉最适合{occasion}？只简单说3种，不超过50字")

# 请求回调：通过 run 传入，链和它的子运行（模型）都会收到
chain = LLMChain(llm=llm, prompt=prompt)
print("=== chain.run(..., callbacks=[...]) ===")
chain.run(occasion="生日", callbacks=[MyCallBackHandler("请求回调")])

# 同样的请求回调，用 LangChain 1.x 的 invoke 和 config 传入
print("\n=== (prompt | llm).invoke(..., config={'callbacks': [...]}) ===")
(prompt | llm).invoke({"occasion": "纪念日"}, config={"callbacks": [MyCallBackHandler("请求回调")]})
