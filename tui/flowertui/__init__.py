"""flowertui: LangChain callbacks, streamed tokens and memory token spend, live in a terminal."""

__version__ = "0.1.0"
