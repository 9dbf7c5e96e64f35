"""Where flowertui keeps its files (platformdirs), overridable by the environment for tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "flowertui"


def cache_dir() -> Path:
    """Cache folder; FLOWERTUI_CACHE_DIR overrides it (tests, read-only homes)."""
    override = os.environ.get("FLOWERTUI_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def config_dir() -> Path:
    """Config folder holding config.toml, prices.toml and user themes."""
    override = os.environ.get("FLOWERTUI_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """Data folder for session databases; FLOWERTUI_DATA_DIR overrides it."""
    override = os.environ.get("FLOWERTUI_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def save_dir() -> Path:
    """Where the app offers to save exports and screenshots: the documents folder, else the data folder.

    It touches the disk, so the app calls it from a worker.
    """
    documents = Path(platformdirs.user_documents_dir())
    if documents.is_dir():
        return documents
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
