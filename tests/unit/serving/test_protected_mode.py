"""Protected by default: no API keys on a non-loopback host refuses to start; keys from a file
or the environment, never only the command line."""

from __future__ import annotations

import logging

import pytest

from wardrobe.serving.app import ConfigError, build_server
from wardrobe.serving.auth import (
    API_KEYS_ENV,
    ExposureError,
    check_exposure,
    is_loopback,
    load_api_keys,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "wardrobe.example", ""])
def test_other_hosts_are_exposed(host):
    assert not is_loopback(host)


def test_an_exposed_host_without_keys_refuses_and_names_both_ways_out():
    with pytest.raises(ExposureError) as err:
        check_exposure("0.0.0.0", load_api_keys({}, env={}))
    message = str(err.value)
    assert "api_keys_file" in message and API_KEYS_ENV in message
    assert "auth.allow_anonymous=true" in message


def test_allow_anonymous_starts_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="wardrobe.serving.auth"):
        check_exposure("0.0.0.0", load_api_keys({}, env={}), allow_anonymous=True)
    assert "WITHOUT API keys" in caplog.text


def test_keys_or_loopback_need_no_override(caplog):
    with caplog.at_level(logging.WARNING):
        check_exposure("0.0.0.0", load_api_keys({"api_keys": {"long-key-123": "alice"}}, env={}))
        check_exposure("127.0.0.1", load_api_keys({}, env={}))
    assert not caplog.text


def test_keys_from_a_file_and_the_environment_are_merged(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("# key: user\nfile-key-of-alice: alice\nfile-key-of-bob: bob\n")
    env = {API_KEYS_ENV: "{env-key-of-carol: carol}"}
    keys = load_api_keys({"api_keys": {"cli-key-of-dave": "dave"}, "api_keys_file": path}, env)
    assert keys.user_of("file-key-of-alice") == "alice"
    assert keys.user_of("file-key-of-bob") == "bob"
    assert keys.user_of("env-key-of-carol") == "carol"
    assert keys.user_of("cli-key-of-dave") == "dave"
    assert keys.user_of("nobody's key") is None


def test_bad_key_sources_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_api_keys({"api_keys_file": tmp_path / "missing.yaml"}, env={})
    with pytest.raises(ValueError, match="mapping"):
        load_api_keys({}, env={API_KEYS_ENV: "just-a-key"})
    with pytest.raises(ValueError, match="two users"):
        load_api_keys({"api_keys": {"same-key-123": "alice"}}, {API_KEYS_ENV: "same-key-123: bob"})
    with pytest.raises(ValueError, match="at least 8"):
        load_api_keys({}, env={API_KEYS_ENV: "short: alice"})


def test_build_server_refuses_an_exposed_anonymous_config(make_cfg, monkeypatch):
    monkeypatch.delenv(API_KEYS_ENV, raising=False)
    with pytest.raises(ConfigError, match="allow_anonymous"):
        build_server(make_cfg("serve", ["accelerator=cpu", "host=0.0.0.0"]))
    server = build_server(
        make_cfg("serve", ["accelerator=cpu", "host=0.0.0.0", "auth.allow_anonymous=true"])
    )
    assert server.workers_total == 1
    monkeypatch.setenv(API_KEYS_ENV, "{env-key-of-alice: alice}")
    build_server(make_cfg("serve", ["accelerator=cpu", "host=0.0.0.0"]))
