"""A RAG chain: OpenAIEmbeddings into an in-memory vector store, a retriever, a prompt and a chat model."""

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

store = InMemoryVectorStore.from_documents([
    Document("Roses mean love; red roses suit anniversaries and Valentine's Day."),
    Document("Delivery in the city is 15 CNY; order before 18:00 for same-day delivery."),
    Document("Carnations thank mothers; pink carnations are for Mother's Day."),
], OpenAIEmbeddings(model="text-embedding-3-small"))
retriever = store.as_retriever(search_kwargs={"k": 1})
print("FOUND", retriever.invoke("How much is delivery, and by when must I order?")[0].page_content)
prompt = ChatPromptTemplate.from_template("Answer from this context: {context}\nQuestion: {question}")
chain = {"context": retriever, "question": RunnablePassthrough()} | prompt | ChatOpenAI(model="gpt-4o-mini") | StrOutputParser()
print("ANSWER", chain.invoke("Can you deliver flowers tomorrow?").replace("\n", " "))
