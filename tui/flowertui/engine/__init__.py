"""The typed core: no Textual here (tests/unit/test_import_hygiene.py)."""

from flowertui.engine import langsmith_types

langsmith_types.install()  # before any engine module imports LangChain: see langsmith_types.py
