# 思考题 1，LangChain 1.x 的做法：create_agent + 中间件 + 检查点（checkpointer）代替 Conversation*Memory
# Exercise 1 the LangChain 1.x way. The lesson's memory classes are deprecated in 1.x (they "fail silently"
# with native tool calling); an agent keeps the conversation in its state, saved per thread by a checkpointer,
# and middleware decides what reaches the model. The same three turns, one total per strategy, counted by
# get_usage_metadata_callback (which counts usage per model; get_openai_callback would price it too).
from langchain.agents import create_agent
from langchain.agents.middleware import SummarizationMiddleware, wrap_model_call
from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import trim_messages
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver

# 初始化大语言模型（create_agent 需要聊天模型）
llm = ChatOpenAI(temperature=0.5, model="gpt-4o-mini")


# The limits are smaller than the lesson's (k=2, 300 tokens) so that three turns are enough to see them bite.
# 按消息条数裁剪：最近一轮对话加上新问题（ConversationBufferWindowMemory(k=1) 的新写法）
@wrap_model_call
def trim_by_messages(request, handler):
    messages = trim_messages(request.messages, max_tokens=3, token_counter=len, strategy="last", start_on="human")
    return handler(request.override(messages=messages))


# 按令牌数裁剪：放得下 100 个令牌的最近消息（ConversationTokenBufferMemory(max_token_limit=100) 的新写法）
@wrap_model_call
def trim_by_tokens(request, handler):
    messages = trim_messages(request.messages, max_tokens=100, token_counter=llm, strategy="last", start_on="human")
    return handler(request.override(messages=messages))


# 超过 200 个令牌就总结较早的消息，保留最近一轮（ConversationSummaryBufferMemory 的新写法）
summarization = SummarizationMiddleware(model=llm, trigger=("tokens", 200), keep=("messages", 2),
                                        token_counter=llm.get_num_tokens_from_messages)

strategies = {
    "trim_messages(按消息条数, 最近一轮)": trim_by_messages,
    "trim_messages(按令牌数, max_tokens=100)": trim_by_tokens,
    "SummarizationMiddleware(trigger=200 tokens, keep=2 messages)": summarization,
}

totals = {}
for name, middleware in strategies.items():
    # 初始化代理：检查点保存对话，中间件决定发给模型的内容（裁剪只影响发送的消息，状态里保留全部）
    agent = create_agent(llm, middleware=[middleware], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "flower-shop"}}

    # 使用context manager进行token counting
    with get_usage_metadata_callback() as cb:
        # 第一天的对话
        # 回合1
        agent.invoke({"messages": [{"role": "user", "content": "我姐姐明天要过生日，我需要一束生日花束。"}]}, config)
        # 回合2
        agent.invoke({"messages": [{"role": "user", "content": "她喜欢粉色玫瑰，颜色是粉色的。"}]}, config)
        # 回合3 （第二天的对话）
        agent.invoke({"messages": [{"role": "user", "content": "我又来了，还记得我昨天为什么要来买花吗？"}]}, config)

    totals[name] = sum(usage["total_tokens"] for usage in cb.usage_metadata.values())
    print(f"\n{name} 总计使用的tokens:", totals[name])

print("\n各种记忆策略的token消耗:")
for name, total in totals.items():
    print(f"{name}: {total}")
