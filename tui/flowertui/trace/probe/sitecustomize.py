"""Loaded by site.py at interpreter start in a program run by `flowertui trace`.

Starts the probe, then chains to the sitecustomize this one shadows (a
virtualenv's or a distribution's), so the program starts exactly as it would
have. Nothing here may raise into the program.
"""


def _start_probe():
    try:
        import flowertui_probe

        flowertui_probe.start_from_environment()
    except Exception:  # a broken probe must never stop the program
        pass


def _chain_to_shadowed():
    import importlib
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.get(__name__)
    saved = list(sys.path)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
        del sys.modules[__name__]
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    except Exception:  # the shadowed file's own error: report it as site.py would, and go on
        import traceback

        traceback.print_exc()
    finally:
        sys.path[:] = [p for p in saved if os.path.abspath(p or os.curdir) != here]
        sys.modules.setdefault(__name__, ours)


_start_probe()
_chain_to_shadowed()
