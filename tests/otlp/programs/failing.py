"""A chain whose last step raises (caught by the program), after a model call that reports no usage."""

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda


def out_of_roses(reply):
    raise ValueError("no roses left")


chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["roses, of course"]) | RunnableLambda(
    out_of_roses)
try:
    chain.invoke({"x": "Which flower for a birthday?"})
except ValueError as error:
    print("failed:", error)
