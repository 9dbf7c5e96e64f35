"""Calls flowertui.watch() and runs a chain once per comma-separated word of argv[1] (for `flowertui diff`)."""

import os
import sys

sys.path.insert(0, os.environ["FLOWERTUI_SOURCE"])
import flowertui  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

words = sys.argv[1].split(",")
chain = ChatPromptTemplate.from_template("flowers for {x}?") | FakeListChatModel(
    responses=[f"red roses for {word}" for word in words])
with flowertui.watch():
    for word in words:
        print(chain.invoke({"x": word}).content, flush=True)
