"""A LangGraph ReAct agent with one tool, as a user would write it; run offline by `flowertui trace`."""

import warnings

from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

warnings.filterwarnings("ignore", message="create_react_agent has been moved")
from langgraph.prebuilt import create_react_agent  # noqa: E402


@tool
def price_of(flower: str) -> str:
    """Price of one stem of a flower in the shop."""
    print("TOOL", flower, flush=True)
    return f"{flower}: 8 CNY a stem"


agent = create_react_agent(ChatOpenAI(model="gpt-4o-mini"), [price_of])
result = agent.invoke({"messages": [("user", "How much are roses?")]})
print("KINDS", " ".join(type(m).__name__ for m in result["messages"]))
print("ANSWER", result["messages"][-1].content.replace("\n", " "))
