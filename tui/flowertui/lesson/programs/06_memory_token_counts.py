# 思考题 1：把令牌计数器实现到其他记忆机制中 —— 同样的三个回合，每种记忆一个总数
# Exercise 1: the counter of example 4 over each memory kind; the summary kinds also pay
# for the summariser's own calls to the model, which get_openai_callback counts too.
from langchain_openai import OpenAI
from langchain_classic.chains import ConversationChain
from langchain_classic.memory import (
    ConversationBufferMemory,
    ConversationBufferWindowMemory,
    ConversationSummaryBufferMemory,
    ConversationSummaryMemory,
    ConversationTokenBufferMemory,
)
from langchain_community.callbacks import get_openai_callback

# 初始化大语言模型
llm = OpenAI(temperature=0.5, model_name="gpt-3.5-turbo-instruct")

memories = {
    "ConversationBufferMemory": ConversationBufferMemory(),
    "ConversationBufferWindowMemory(k=2)": ConversationBufferWindowMemory(k=2),
    "ConversationSummaryMemory": ConversationSummaryMemory(llm=llm),
    "ConversationSummaryBufferMemory(max_token_limit=300)": ConversationSummaryBufferMemory(llm=llm, max_token_limit=300),
    "ConversationTokenBufferMemory(max_token_limit=300)": ConversationTokenBufferMemory(llm=llm, max_token_limit=300),
}

totals = {}
for name, memory in memories.items():
    # 初始化对话链
    conversation = ConversationChain(llm=llm, memory=memory)

    # 使用context manager进行token counting
    with get_openai_callback() as cb:
        # 第一天的对话
        # 回合1
        conversation("我姐姐明天要过生日，我需要一束生日花束。")
        # 回合2
        conversation("她喜欢粉色玫瑰，颜色是粉色的。")
        # 回合3 （第二天的对话）
        conversation("我又来了，还记得我昨天为什么要来买花吗？")

    totals[name] = cb.total_tokens
    print(f"\n{name} 总计使用的tokens:", cb.total_tokens)

print("\n各种记忆机制的token消耗:")
for name, total in totals.items():
    print(f"{name}: {total}")
