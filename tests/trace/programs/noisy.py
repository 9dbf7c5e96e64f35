"""Escape sequences and markup in its output and in what its model says; argv[1] bytes of filler too."""

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel

sys.stdout.write("\x1b[2J\x1b[31m[red]red?[/red]\x1b[0m [/bold] \x1b]0;title\x07done\n")
model = FakeListChatModel(responses=["[bold]shout[/bold] \x1b[31mred\x1b[0m \x07bell"])
print(model.invoke("hi").content)
size = int(sys.argv[1]) if len(sys.argv) > 1 else 0
line = ("x" * 1023 + "\n").encode()
out = sys.stdout.buffer
for _ in range(size // 1024):
    out.write(line)
out.flush()
