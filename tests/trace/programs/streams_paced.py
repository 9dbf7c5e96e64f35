"""Streams "roses are red " REPEAT times (default 10) through a chain, one character a piece, PACE seconds apart
(default 0.01: a model's pace, not a burst).

    python streams_paced.py [PACE [REPEAT]]
"""

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate

pace = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 10
chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["roses are red " * repeat], sleep=pace)
print(sum(1 for _ in chain.stream({"x": "flowers"})), "pieces")
