"""A LangGraph graph: a model node asks for a tool, the tool node runs it, the model answers."""

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode


@tool
def flower_price(flower: str) -> str:
    """Price of one stem."""
    return f"{flower}: 5 CNY a stem"


model = FakeMessagesListChatModel(responses=[
    AIMessage(content="", tool_calls=[{"name": "flower_price", "args": {"flower": "rose"}, "id": "call_1"}]),
    AIMessage(content="Roses are 5 CNY a stem."),
])


def agent(state):
    return {"messages": [model.invoke(state["messages"])]}


def route(state):
    return "tools" if state["messages"][-1].tool_calls else END


graph = StateGraph(MessagesState)
graph.add_node("agent", agent)
graph.add_node("tools", ToolNode([flower_price]))
graph.add_edge(START, "agent")
graph.add_conditional_edges("agent", route)
graph.add_edge("tools", "agent")
print(graph.compile().invoke({"messages": [("user", "How much are roses?")]})["messages"][-1].content)
