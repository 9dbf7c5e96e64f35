"""Imports LangChain, calls no model; with `crash`, raises afterwards."""

import sys

from langchain_core.prompts import ChatPromptTemplate

print(ChatPromptTemplate.from_template("{x}").format(x="no model here"), flush=True)
if sys.argv[1:] == ["crash"]:
    raise RuntimeError("crashed after importing LangChain")
