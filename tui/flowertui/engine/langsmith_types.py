"""langsmith's generated API package (`langsmith.types`) runs its body only when something reads from it.

LangChain imports `langsmith.run_trees` at import time (`langchain_core.tracers.schemas`, reached from every chat
model and runnable), and langsmith 0.15 imports `langsmith.types.run_select_field` there for one `Literal` alias.
Importing a submodule runs its package's `__init__` first, and that one imports the whole generated API (hundreds
of pydantic models): about a quarter of the engine's import, ≈ 0.2 s of CPU on the development machine, paid
before the app can send its first message. Nothing on the engine's path reads from the package itself.

`install()` puts a finder ahead of the others for that one name: the package module is created as usual, with
its `__path__` (so its submodules import as always), and its body runs on the first attribute read that the
module does not have yet (`from langsmith.types import Run`, `langsmith.types.Session`). The finder costs nothing
until the package is imported, and steps aside if langsmith's layout changes (no package of that name).
"""

from __future__ import annotations

import sys
import threading
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

NAME = "langsmith.types"


class _Finder:
    """Finds `langsmith.types` as the path finder does, and loads it as a module whose body runs on first use."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname != NAME:
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return spec
        spec.loader = _Deferred(spec.loader)
        return spec


class _Deferred:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.lock = threading.RLock()
        self.ran = False

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        def __getattr__(name: str) -> Any:
            with self.lock:  # another thread waits here until the body has run
                if self.ran or (name.startswith("__") and name != "__all__"):
                    raise AttributeError(f"module {NAME!r} has no attribute {name!r}")
                self.ran = True
                del module.__dict__["__getattr__"]
                self.loader.exec_module(module)
            return getattr(module, name)

        module.__getattr__ = __getattr__


def install() -> None:
    """Once per process, before LangChain is imported; a `langsmith.types` already imported is left as it is."""
    if NAME not in sys.modules and not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
