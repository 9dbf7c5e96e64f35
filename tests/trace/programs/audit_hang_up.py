"""Audit test program: reads two chunks of a slow stream, then closes it (as a cancelled reply does)."""
import openai

stream = openai.OpenAI().chat.completions.create(model="slow-stream", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True)
chunks = iter(stream)
next(chunks), next(chunks)
stream.close()
print("closed")
