"""An interactive program: answers each stdin line with a chain; its model's reply has markup and escapes."""

import sys

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate


class Mine(BaseCallbackHandler):
    def on_llm_end(self, response, **kwargs):
        print("mine saw the end", file=sys.stderr)


chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(
    responses=["[bold]roses[/bold] \x1b[31mred\x1b[0m [/oops]"], callbacks=[Mine()])
print("ready")
for line in sys.stdin:
    if line.strip() == "quit":
        break
    print("answer:", chain.invoke({"x": line.strip()}).content)
print("bye")
