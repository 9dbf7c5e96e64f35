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
