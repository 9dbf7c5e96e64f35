"""flowertui: LangChain callbacks, streamed tokens and memory token spend, live in a terminal."""

__version__ = "0.1.0"


def watch():
    """Watch this program's LangChain runs: `with flowertui.watch(): …`, or a plain call that lasts until exit.

    The run is saved as a session (live in `flowertui trace --listen` when one is running).
    """
    from flowertui.trace.watch import Watch

    return Watch()
