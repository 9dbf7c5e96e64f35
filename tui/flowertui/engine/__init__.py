"""The typed core: no Textual here (tests/unit/test_import_hygiene.py)."""

from flowertui.engine import deferred

deferred.install()  # before any engine module imports LangChain: see deferred.py
