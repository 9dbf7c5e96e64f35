"""Audit test program: a raw stream read byte for byte, and a 10 MB request body, through the proxy.

Writes to the file named by argv[1] the stream's bytes as received (hex), the upstream's answer (the SHA-256 of
the content it received, and the body's length) and the SHA-256 of the content sent.
"""
import hashlib
import json
import sys

import openai

client = openai.OpenAI()
with client.chat.completions.with_streaming_response.create(
        model="raw-stream", messages=[{"role": "user", "content": "roses"}], stream=True) as response:
    received = b"".join(response.iter_bytes())
big = "玫瑰 roses " * 800_000  # ~10 MB of JSON once encoded
messages = [{"role": "user", "content": big}]
answer = client.chat.completions.create(messages=messages, model="echo")
with open(sys.argv[1], "w") as out:
    json.dump({"stream": received.hex(), "answer": answer.choices[0].message.content, "sent": hashlib.sha256(big.encode()).hexdigest()}, out)
print("done")
