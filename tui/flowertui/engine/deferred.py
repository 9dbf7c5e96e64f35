"""Packages whose `__init__` LangChain (or we) import only to reach a submodule: their body runs on first use.

Importing a submodule runs its package's `__init__` first, and some of those import far more than the submodule:
- `langsmith.types`: LangChain imports `langsmith.run_trees` at import time (`langchain_core.tracers.schemas`,
  reached from every chat model and runnable), and langsmith 0.15 imports `langsmith.types.run_select_field` there
  for one `Literal` alias; the package's `__init__` imports the whole generated API (hundreds of pydantic models):
  about a quarter of the engine's import, ≈ 0.2 s of CPU on the development machine.
- `langchain_classic.memory`: `engine/legacy.py` imports the lesson's five memories from their modules, and
  `ConversationChain`'s prompt is in `langchain_classic.memory.prompt`; the package's `__init__` imports every
  memory class besides (entity, vector-store, combined memories, a text splitter, chat prompt templates): ≈ 20 ms.
- `yaml`: `langchain_core` and `langchain_classic` import it at the top of modules that use it only to save a
  chain or prompt to a file, which the app never does: ≈ 8 ms.
All of it is paid before the app can send its first message, and nothing on the engine's path reads from those
package modules themselves.

`install()` puts a finder ahead of the others for those names: the package module is created as usual, with its
`__path__` (so its submodules import as always), and its body runs on the first attribute read that the module does
not have yet (`from langsmith.types import Run`, `yaml.safe_dump`). The finder costs nothing until such a package is
imported, and steps aside for a name whose layout changed (no package of that name).
"""

from __future__ import annotations

import sys
import threading
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

NAMES = frozenset({"langsmith.types", "langchain_classic.memory", "yaml"})


class _Finder:
    """Finds the deferred packages as the path finder does, and loads each as a module whose body runs on first use."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in NAMES:
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return spec
        spec.loader = _Deferred(spec.loader)
        return spec


class _Deferred:
    """The package's own loader, but for when `exec_module` runs its body; everything else (its files, for
    importlib.resources and pkgutil) is the wrapped loader's."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.lock = threading.RLock()
        self.ran = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        hooks: dict[str, Any] = {}

        def run_body() -> None:
            """Once; a thread that comes meanwhile waits here, then reads what the body made."""
            with self.lock:
                if not self.ran:
                    self.ran = True
                    try:
                        self.loader.exec_module(module)
                    finally:  # the hooks go, unless the body put its own in their place (a PEP 562 __getattr__)
                        for name, hook in hooks.items():
                            if module.__dict__.get(name) is hook:
                                del module.__dict__[name]
                elif any(module.__dict__.get(name) is hook for name, hook in hooks.items()):
                    raise AttributeError  # the body itself, still running, reads a name it has not made yet

        def __getattr__(name: str) -> Any:
            if name.startswith("__") and name not in ("__all__", "__version__") and not self.ran:
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")  # a probe, not a use
            try:
                run_body()
            except AttributeError:
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None
            return getattr(module, name)

        def __dir__() -> list[str]:
            run_body()
            return sorted(module.__dict__)

        hooks.update(__getattr__=__getattr__, __dir__=__dir__)
        module.__dict__.update(hooks)


def install() -> None:
    """Once per process, before LangChain is imported; a package already imported is left as it is."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
