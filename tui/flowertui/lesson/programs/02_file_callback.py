# 示例 2：在组件中使用回调处理器 —— FileCallbackHandler + loguru + verbose=True
# Ported to LangChain 1.x: LLMChain lives in langchain_classic, OpenAI in langchain_openai,
# FileCallbackHandler and PromptTemplate in langchain_core.
from loguru import logger

from langchain_core.callbacks import FileCallbackHandler
from langchain_classic.chains import LLMChain
from langchain_openai import OpenAI
from langchain_core.prompts import PromptTemplate

logfile = "output.log"

logger.add(logfile, colorize=True, enqueue=True)
handler = FileCallbackHandler(logfile)

llm = OpenAI()
prompt = PromptTemplate.from_template("1 + {number} = ")

# this chain will both print to stdout (because verbose=True) and write to 'output.log'
# if verbose=False, the FileCallbackHandler will still write to 'output.log'
chain = LLMChain(llm=llm, prompt=prompt, callbacks=[handler], verbose=True)
answer = chain.run(number=2)
logger.info(answer)
