"""Where flowertui keeps its files (platformdirs), overridable by the environment for tests."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import platformdirs

APP_NAME = "flowertui"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
# What flowertui keeps in the data folder, private to its owner (exports saved there follow the umask).
PRIVATE_NAMES = ("sessions.sqlite3", "state.json", "trace-listener.json", "trace-spool")


class DataDirError(RuntimeError):
    """The data folder cannot be written; the message names it and the flag that moves it."""


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


def prepare_data_dir() -> Path:
    """Create the data folder (0700) and make what flowertui keeps in it private: files 0600, folders 0700.

    Run at every start, so an install from before this rule is fixed too. Raises DataDirError
    when the folder cannot be written.
    """
    folder = data_dir()
    try:
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise OSError(errno.EROFS if _read_only(folder) else errno.EACCES, "not writable")
        make_private(folder)
        for entry in folder.iterdir():
            if entry.name.startswith(PRIVATE_NAMES):
                make_private(entry)
                if entry.is_dir() and not entry.is_symlink():
                    for inner in entry.iterdir():
                        make_private(inner)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise DataDirError(f"cannot write the data folder {folder} ({reason}); "
                           f"choose another with --data-dir DIR (or FLOWERTUI_DATA_DIR)") from exc
    return folder


def make_private(path: Path) -> None:
    """0700 for a folder, 0600 for a file (symbolic links left alone)."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return
    wanted = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
    if stat.S_IMODE(info.st_mode) != wanted:
        path.chmod(wanted)


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


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
