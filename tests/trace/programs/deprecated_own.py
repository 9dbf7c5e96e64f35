"""A user's program that imports LangChain and raises a deprecation warning of its own: it must still print."""

import warnings

import langchain_core.callbacks  # noqa: F401  (LangChain re-adds its warning filters at import)
from langchain_core._api.deprecation import LangChainDeprecationWarning

warnings.warn("my_helper is deprecated; use my_new_helper", DeprecationWarning, stacklevel=1)
warnings.warn("old_chain is deprecated in my app", LangChainDeprecationWarning, stacklevel=1)
print("done")
