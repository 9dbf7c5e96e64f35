"""What a run's trace covered, said honestly: the probe not loaded is not "no LangChain".

Four cases differ: the probe never loaded (python -I/-E/-S, or no Python that runs
sitecustomize), the program never imported LangChain, it imported LangChain but made
no model call, and events the probe could not deliver.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flowertui.trace.launcher import describe_exit

NOT_TRACED = "not traced"
NO_LANGCHAIN = "no langchain"
NO_MODEL_CALL = "no model call"
TRACED = "traced"
UNDELIVERED = "not delivered"  # the probe ran but could not reach flowertui: its events wait in the spool

_FLAG_REASONS = {"I": "python -I ignores PYTHONPATH, where the probe waits",
                 "E": "python -E ignores PYTHONPATH, where the probe waits",
                 "S": "python -S skips the site module, which loads the probe"}


@dataclass(frozen=True)
class Coverage:
    state: str  # one of NOT_TRACED, UNDELIVERED, NO_LANGCHAIN, NO_MODEL_CALL, TRACED
    note: str | None  # one line for the user, None when there is nothing to add

    def line(self) -> str | None:
        """The stderr line (`flowertui: not traced: …` when the probe never loaded)."""
        if self.note is None:
            return None
        return f"flowertui: {NOT_TRACED}: {self.note}" if self.state == NOT_TRACED else f"flowertui: {self.note}"


def coverage(argv: list[str], returncode: int, *, loaded: bool, langchain: bool, model_calls: int,
             dropped: int, spooled: bool = False) -> Coverage:
    """The run's coverage from what the probe reported (see Translator) and how the program ended; `spooled`:
    the probe wrote events to the spool because it could not deliver them."""
    lost = f"; {dropped} events could not be delivered (the probe's buffer was full)" if dropped else ""
    if not loaded and spooled:
        return Coverage(UNDELIVERED, "the probe could not reach flowertui; its events were spooled and are imported "
                                     "into this session at the next start (`flowertui sessions`)")
    if not loaded:
        if returncode < 0:
            return Coverage(NOT_TRACED, f"the program was {describe_exit(returncode)} before the probe reported")
        return Coverage(NOT_TRACED, f"the probe did not load in this program ({_why_not_loaded(argv)}); run it with "
                                    "a plain `python` (no -I, -E or -S), or call flowertui.watch() in it and use "
                                    "`flowertui trace --listen`")
    ended = "" if returncode == 0 else f" before it {describe_exit(returncode)}"
    if not langchain:
        return Coverage(NO_LANGCHAIN, f"the program never imported LangChain{ended}{lost}")
    if not model_calls:
        return Coverage(NO_MODEL_CALL, f"LangChain was imported but no model was called{ended}{lost}")
    return Coverage(TRACED, lost[2:] or None)


def _why_not_loaded(argv: list[str]) -> str:
    """The interpreter flag that kept the probe out, when the command line shows one."""
    if argv and "python" in os.path.basename(argv[0]):
        for arg in argv[1:]:
            if not arg.startswith("-") or arg in ("-c", "-m") or arg.startswith("--"):
                break
            for letter, reason in _FLAG_REASONS.items():
                if letter in arg[1:]:
                    return reason
    return "it ran no Python that reads PYTHONPATH and runs sitecustomize, e.g. python -I, -E or -S"
