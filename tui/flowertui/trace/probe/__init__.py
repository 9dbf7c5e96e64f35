"""The probe folder: put first on a traced program's PYTHONPATH (sitecustomize, flowertui_probe, flowertui_extract).

Everything in here runs inside someone else's Python, which may not have
flowertui installed: standard library and langchain_core only.
"""

from pathlib import Path

PROBE_DIR = Path(__file__).parent
