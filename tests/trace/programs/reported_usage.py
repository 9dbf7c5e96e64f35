"""ChatOpenAI streaming with stream_usage=True from the server at argv[1]: the usage is reported."""

import sys

from langchain_openai import ChatOpenAI

print(ChatOpenAI(model="gpt-4o-mini", base_url=sys.argv[1], api_key="sk-x", streaming=True, stream_usage=True).invoke("Roses?").content)
