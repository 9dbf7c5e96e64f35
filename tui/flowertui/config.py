"""Settings from flags, then the environment, then the config file (flags win)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import OFFLINE_MODEL, PRESETS, PROVIDERS, ProviderSettings
from flowertui.paths import config_dir


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and what is allowed."""


# Config-file keys and the type each must have.
_FILE_KEYS: dict[str, type | tuple[type, ...]] = {
    "provider": str,
    "model": str,
    "base_url": str,
    "api_key": str,
    "speed": (int, float),
    "timeout": (int, float),
    "window_k": int,
    "summary_buffer_limit": int,
    "token_buffer_limit": int,
    "theme": str,
    "keymap": dict,
    "confirm_catch_up": bool,
}


@dataclass(frozen=True)
class Settings:
    provider: ProviderSettings
    memory: MemorySettings
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    confirm_catch_up: bool = True  # ask before a catch-up sends more than 2,000 tokens to a priced model


def config_file() -> Path:
    return config_dir() / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings, type-checked; a missing file is an empty one."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    for key, value in data.items():
        expected = _FILE_KEYS.get(key)
        if expected is None:
            raise ConfigError(f"config file {path}: unknown setting {key!r}; known: {', '.join(_FILE_KEYS)}")
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ConfigError(f"config file {path}: {key} has the wrong type ({type(value).__name__})")
    bad_keys = [k for k, v in data.get("keymap", {}).items() if not isinstance(v, str)]
    if bad_keys:
        raise ConfigError(f"config file {path}: keymap.{bad_keys[0]} must be a string of keys like \"ctrl+k\"")
    return data


def resolve(flags: dict[str, Any], env: dict[str, str] | None = None, file: dict[str, Any] | None = None) -> Settings:
    """Merge the three sources. With no provider named and no key anywhere, the offline assistant."""
    env = os.environ if env is None else env
    file = read_config_file(config_file()) if file is None else file

    def pick(flag: str, env_name: str | None = None) -> Any:
        if flags.get(flag) is not None:
            return flags[flag]
        if env_name and env.get(env_name):
            return env[env_name]
        return file.get(flag)

    base_url = pick("base_url", "OPENAI_BASE_URL")
    provider = pick("provider", "FLOWERTUI_PROVIDER") or _default_provider(base_url, env, file)
    if provider not in PRESETS:
        raise ConfigError(f"unknown provider {provider!r}; choose one of: {', '.join(PROVIDERS)}")
    preset = PRESETS[provider]
    model = pick("model", "FLOWERTUI_MODEL") or preset.model
    if provider == "offline":
        model, base_url = OFFLINE_MODEL, None
    else:
        base_url = base_url if provider == "compatible" or flags.get("base_url") else preset.base_url
    if provider == "compatible" and not (base_url and model):
        raise ConfigError("provider 'compatible' needs --base-url and --model")
    api_key = (env.get(preset.key_env) if preset.key_env else None) or file.get("api_key")
    if preset.key_env and not api_key and provider != "compatible":
        raise ConfigError(f"provider {provider!r} needs an API key in {preset.key_env} or the config file")
    raw_speed = pick("speed", "FLOWERTUI_SPEED")
    try:
        speed = 40.0 if raw_speed is None else float(raw_speed)
    except ValueError as exc:
        raise ConfigError(f"speed must be a number of tokens per second: {exc}") from exc
    if speed < 0:
        raise ConfigError("speed must be 0 (as fast as possible) or more tokens per second")
    memory = MemorySettings(
        window_k=_positive(pick("window_k"), "window_k", 2),
        summary_buffer_limit=_positive(pick("summary_buffer_limit"), "summary_buffer_limit", 300),
        token_buffer_limit=_positive(pick("token_buffer_limit"), "token_buffer_limit", 300),
    )
    return Settings(
        ProviderSettings(provider=provider, model=model, base_url=base_url, api_key=api_key, speed=speed,
                         timeout=float(pick("timeout") or 60.0)),
        memory,
        theme=file.get("theme"),
        keymap=dict(file.get("keymap", {})),
        confirm_catch_up=_yes(pick("confirm_catch_up", "FLOWERTUI_CONFIRM_CATCH_UP"), "confirm_catch_up"),
    )


def viewer_settings(file: dict[str, Any] | None = None) -> Settings:
    """Settings for the apps that call no model themselves (trace, lesson, listen, replay): the config file's
    theme and keymap only. The provider variables and keys (OPENAI_BASE_URL, OPENAI_API_KEY, the file's
    base_url) belong to the traced program, never to these: a provider they would not resolve is no error."""
    file = read_config_file(config_file()) if file is None else file
    return Settings(ProviderSettings(), MemorySettings(), theme=file.get("theme"), keymap=dict(file.get("keymap", {})))


def resume_settings(recorded: dict[str, Any], flags: dict[str, Any], env: dict[str, str] | None = None,
                    file: dict[str, Any] | None = None) -> Settings:
    """Settings to continue a recorded session (`recorded` is its session_start payload).

    It goes on with the provider and model it was recorded with, whatever the environment or
    the config file would pick for a new session; a flag naming another one, or a key the
    provider needs and cannot find, is refused rather than quietly replaced.
    """
    provider, model = recorded.get("provider"), recorded.get("model")
    for name in ("provider", "model"):
        if flags.get(name) is not None and flags[name] != recorded.get(name):
            raise ConfigError(f"it was recorded with {provider}/{model}; --{name.replace('_', '-')} cannot change "
                              "that (start a new session to use another)")
    if provider == "offline" and flags.get("base_url"):
        raise ConfigError(f"it was recorded with {provider}/{model}; --base-url cannot change that (start a new "
                          "session to use a server)")
    base_url = flags.get("base_url") or (recorded.get("base_url") if provider == "compatible" else None)
    try:
        settings = resolve({**flags, "provider": provider, "model": model, "base_url": base_url}, env, file)
    except ConfigError as exc:
        raise ConfigError(f"it was recorded with {provider}/{model}, and {exc}") from exc
    key_env = PRESETS[settings.provider.provider].key_env
    if recorded.get("api_key_used") and key_env and not settings.provider.api_key:
        raise ConfigError(f"it was recorded with {provider}/{model} and an API key; set {key_env} or api_key in the "
                          "config file")
    return settings


def _default_provider(base_url: str | None, env: dict[str, str], file: dict[str, Any]) -> str:
    if base_url:
        return "compatible"
    if env.get("OPENAI_API_KEY") or file.get("api_key"):
        return "openai"
    return "offline"


def _yes(value: Any, name: str) -> bool:
    """A yes/no setting (default yes): a flag or TOML bool, or the environment's 1/0, true/false, yes/no."""
    if value is None or isinstance(value, bool):
        return value is not False
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _positive(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1")
    return value
