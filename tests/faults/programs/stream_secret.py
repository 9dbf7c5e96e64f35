"""Streams (one token per character) a reply holding three secrets: a URL password, an env value, a GitHub key."""

import os

from langchain_core.language_models.fake_chat_models import FakeListChatModel

reply = (f"db at postgres://bob:{os.environ['URL_PW']}@db/x, the password is {os.environ['MY_DB_PASSWORD']} "
         f"and the key ghp_{'A1b2' * 9} done.")
for _ in FakeListChatModel(responses=[reply]).stream("hi"):
    pass
print("streamed", flush=True)
