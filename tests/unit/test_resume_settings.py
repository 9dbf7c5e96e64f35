"""Resuming a session keeps the provider and model it was recorded with, whatever a new session would pick."""

from __future__ import annotations

import pytest

from flowertui.config import ConfigError, resume_settings

KEY = "sk-resume-test-0123456789abcdef"


def test_an_offline_session_stays_offline_when_a_key_is_now_set():
    settings = resume_settings({"provider": "offline", "model": "flowershop-offline"}, {},
                               env={"OPENAI_API_KEY": KEY, "FLOWERTUI_PROVIDER": "openai"}, file={})
    assert settings.provider.provider == "offline" and settings.provider.model == "flowershop-offline"


def test_an_openai_session_continues_with_its_model_even_if_the_environment_names_another():
    settings = resume_settings({"provider": "openai", "model": "gpt-4o"}, {},
                               env={"OPENAI_API_KEY": KEY, "FLOWERTUI_MODEL": "gpt-4o-mini"}, file={})
    assert (settings.provider.provider, settings.provider.model, settings.provider.api_key) == ("openai", "gpt-4o", KEY)


def test_a_compatible_session_goes_back_to_its_server_unless_told_where_it_moved():
    recorded = {"provider": "compatible", "model": "qwen-turbo", "base_url": "http://127.0.0.1:8000/v1"}
    settings = resume_settings(recorded, {}, env={}, file={})
    assert settings.provider.base_url == "http://127.0.0.1:8000/v1" and settings.provider.model == "qwen-turbo"
    moved = resume_settings(recorded, {"base_url": "http://127.0.0.1:9000/v1"}, env={}, file={})
    assert moved.provider.base_url == "http://127.0.0.1:9000/v1"


def test_a_compatible_session_that_used_a_key_needs_one_again():
    recorded = {"provider": "compatible", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8000/v1",
                "api_key_used": True}
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resume_settings(recorded, {}, env={}, file={})
    assert resume_settings(recorded, {}, env={"OPENAI_API_KEY": KEY}, file={}).provider.api_key == KEY


@pytest.mark.parametrize("flags", [{"provider": "offline"}, {"model": "gpt-4o"}])
def test_a_flag_naming_another_provider_or_model_is_refused(flags):
    with pytest.raises(ConfigError, match="openai/gpt-4o-mini"):
        resume_settings({"provider": "openai", "model": "gpt-4o-mini"}, flags, env={"OPENAI_API_KEY": KEY}, file={})
