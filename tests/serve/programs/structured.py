"""with_structured_output with a pydantic model, both ways LangChain asks for it."""

from pydantic import BaseModel, Field
from langchain_openai import ChatOpenAI


class Bouquet(BaseModel):
    flower: str
    stems: int = Field(ge=1)
    price_cny: float


for method in ("json_schema", "function_calling"):
    bouquet = ChatOpenAI(model="gpt-4o-mini").with_structured_output(Bouquet, method=method).invoke("red roses please")
    print("BOUQUET", method, type(bouquet).__name__, bouquet.flower, bouquet.stems)
