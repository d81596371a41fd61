"""pipeline/config.py: defaults + file + overrides merging, validation, the pseudonym key."""
from __future__ import annotations

import dataclasses

import pytest

from pipeline.config import (
    DEFAULT_CONFIG_PATH,
    MIN_KEY_BYTES,
    PSEUDONYM_KEY_ENV,
    ConfigError,
    ConsentPolicy,
    GatekeeperConfig,
    IngestLimits,
    RedactionSettings,
    ValidationSettings,
    load_config,
    load_pseudonym_key,
)

CANARY = "zz-canary-7f3a-do-not-echo"


def _write(tmp_path, text: str, name: str = "gatekeeper.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _assert_one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message
    return message


# ---------------------------------------------------------------- defaults and merging


def test_packaged_defaults_match_the_dataclass_defaults():
    assert DEFAULT_CONFIG_PATH.is_file()
    assert load_config() == GatekeeperConfig()


def test_file_is_merged_key_by_key_on_top_of_the_defaults(tmp_path):
    path = _write(tmp_path, "ingest:\n  max_file_bytes: 1024\nredaction:\n  pseudonym_scope: meeting\n")
    config = load_config(path)
    assert config.ingest == dataclasses.replace(IngestLimits(), max_file_bytes=1024)
    assert config.redaction == dataclasses.replace(RedactionSettings(), pseudonym_scope="meeting")
    assert config.consent == ConsentPolicy()
    assert config.validation == ValidationSettings()


def test_overrides_win_over_the_file_and_keep_the_files_other_keys(tmp_path):
    path = _write(tmp_path, "ingest:\n  max_file_bytes: 1024\n  max_pdf_pages: 7\n")
    config = load_config(path, overrides={"ingest": {"max_file_bytes": 2048}, "validation": {"drift_window": 3}})
    assert config.ingest.max_file_bytes == 2048
    assert config.ingest.max_pdf_pages == 7
    assert config.validation.drift_window == 3


def test_values_are_coerced_to_the_declared_types(tmp_path):
    path = _write(tmp_path, "ingest:\n  max_compression_ratio: 50\nconsent:\n  special_categories: [therapy, 7]\n")
    config = load_config(path)
    assert config.ingest.max_compression_ratio == 50.0
    assert isinstance(config.ingest.max_compression_ratio, float)
    assert config.consent.special_categories == ("therapy", "7")
    assert isinstance(config.consent.special_categories, tuple)


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_file_means_defaults(tmp_path, text):
    assert load_config(_write(tmp_path, text)) == GatekeeperConfig()


def test_fingerprint_is_stable_and_tracks_every_value():
    base = load_config()
    assert base.fingerprint() == load_config().fingerprint()
    assert len(base.fingerprint()) == 64
    changed = load_config(overrides={"consent": {"drop_unknown_speakers": False}})
    assert changed.fingerprint() != base.fingerprint()
    assert base.to_dict()["ingest"]["max_file_bytes"] == IngestLimits().max_file_bytes


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_config().ingest.max_file_bytes = 1  # type: ignore[misc]


# ---------------------------------------------------------------- validation errors


@pytest.mark.parametrize(
    "yaml_text, fragment",
    [
        ("[1, 2]\n", "must hold a mapping"),
        ("ingset:\n  max_file_bytes: 1\n", "unknown config section"),
        ("ingest: 5\n", "must be a mapping"),
        ("ingest:\n  max_file_bytez: 1\n", "unknown key"),
        ("ingest:\n  max_file_bytes: lots\n", "must be a number"),
        ("ingest:\n  max_file_bytes: true\n", "must be a number"),
        ("ingest:\n  max_file_bytes: -1\n", "must be positive"),
        ("ingest:\n  ocr_enabled: 1\n", "must be true or false"),
        ("consent:\n  special_categories: therapy\n", "must be a list"),
        ("consent:\n  purpose: 5\n", "must be a string"),
        ("redaction:\n  pseudonym_scope: global\n", "'meeting' or 'dataset'"),
    ],
)
def test_invalid_files_raise_a_one_line_config_error(tmp_path, yaml_text, fragment):
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, yaml_text))
    assert fragment in _assert_one_line(caught.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "absent.yaml"))


def test_invalid_yaml_names_the_error_class_not_the_content(tmp_path):
    path = _write(tmp_path, f"ingest:\n  max_file_bytes: [{CANARY}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = _assert_one_line(caught.value)
    assert "not valid YAML" in message
    assert CANARY not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_invalid_override_values_are_rejected():
    with pytest.raises(ConfigError, match="must be a number"):
        load_config(overrides={"validation": {"batch_rows": "many"}})
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(overrides={"consent": {"purpose_typo": "x"}})


def test_the_error_never_echoes_an_invalid_value(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, f"redaction:\n  batch_size: {CANARY}\n"))
    assert CANARY not in str(caught.value)


def test_unknown_override_section_is_rejected():
    with pytest.raises(ConfigError):
        load_config(overrides={"ingset": {"max_file_bytes": 1}})


def test_non_mapping_override_section_is_a_config_error():
    with pytest.raises(ConfigError):
        load_config(overrides={"ingest": 5})  # type: ignore[dict-item]


def test_nan_limits_are_rejected(tmp_path):
    with pytest.raises(ConfigError):
        load_config(_write(tmp_path, "ingest:\n  max_compression_ratio: .nan\n"))


def test_fractional_values_for_integer_fields_are_rejected():
    with pytest.raises(ConfigError):
        load_config(overrides={"ingest": {"max_file_bytes": 1.7}})


def test_zero_batch_rows_is_a_config_error():
    with pytest.raises(ConfigError):
        load_config(overrides={"validation": {"batch_rows": 0}})


# ---------------------------------------------------------------- pseudonym key


GOOD_KEY = "k" * MIN_KEY_BYTES


def test_key_from_the_environment_is_stripped_bytes():
    assert load_pseudonym_key(environ={PSEUDONYM_KEY_ENV: f"  {GOOD_KEY}\n"}) == GOOD_KEY.encode()


def test_key_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, GOOD_KEY + "x")
    assert load_pseudonym_key() == (GOOD_KEY + "x").encode()


@pytest.mark.parametrize("environ", [{}, {PSEUDONYM_KEY_ENV: ""}, {PSEUDONYM_KEY_ENV: "   \n"}])
def test_missing_key_fails_closed(environ):
    with pytest.raises(ConfigError) as caught:
        load_pseudonym_key(environ=environ)
    assert PSEUDONYM_KEY_ENV in _assert_one_line(caught.value)


def test_short_key_fails_closed_without_echoing_it():
    short = "s3cr3t-" + "x" * (MIN_KEY_BYTES - 8)
    assert len(short) == MIN_KEY_BYTES - 1
    with pytest.raises(ConfigError) as caught:
        load_pseudonym_key(environ={PSEUDONYM_KEY_ENV: short})
    message = _assert_one_line(caught.value)
    assert "shorter than" in message and short not in message


def test_minimum_length_key_is_accepted():
    assert len(load_pseudonym_key(environ={PSEUDONYM_KEY_ENV: GOOD_KEY})) == MIN_KEY_BYTES


def test_key_file_wins_over_the_environment(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(b"file-key-0123456789abcdef\n")
    key = load_pseudonym_key(str(key_file), environ={PSEUDONYM_KEY_ENV: "env-key-0123456789abcdef"})
    assert key == b"file-key-0123456789abcdef"


def test_key_file_errors_fail_closed(tmp_path):
    with pytest.raises(ConfigError, match="cannot read pseudonym key file") as caught:
        load_pseudonym_key(str(tmp_path / "absent-key"), environ={PSEUDONYM_KEY_ENV: GOOD_KEY})
    assert "absent-key" not in str(caught.value)
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    with pytest.raises(ConfigError, match="no pseudonymization key"):
        load_pseudonym_key(str(empty), environ={PSEUDONYM_KEY_ENV: GOOD_KEY})
    short = tmp_path / "short"
    short.write_bytes(b"tiny")
    with pytest.raises(ConfigError, match="--pseudonym-key-file"):
        load_pseudonym_key(str(short), environ={PSEUDONYM_KEY_ENV: GOOD_KEY})


def test_key_sources_resolve_and_fail_closed(tmp_path, monkeypatch):
    from pipeline.config import PseudonymKeySource, pseudonym_key_source

    monkeypatch.setenv("GATEKEEPER_PSEUDONYM_KEY", "env-key-0123456789abcdef")
    assert pseudonym_key_source().resolve() == b"env-key-0123456789abcdef"
    key_file = tmp_path / "key"
    key_file.write_text("file-key-0123456789abcdef\n")
    assert pseudonym_key_source(str(key_file)).resolve() == b"file-key-0123456789abcdef"
    with pytest.raises(ConfigError):
        pseudonym_key_source(str(key_file), "projects/p/secrets/s/versions/1")
    monkeypatch.delenv("GATEKEEPER_PSEUDONYM_KEY")
    with pytest.raises(ConfigError):
        pseudonym_key_source()
    with pytest.raises(ConfigError):
        PseudonymKeySource("telepathy", "x").resolve()


def test_gcp_secret_source_reads_secret_manager(monkeypatch):
    import sys
    import types

    from pipeline.config import PseudonymKeySource

    class FakeClient:
        def access_secret_version(self, name):
            assert name == "projects/p/secrets/gatekeeper-key/versions/3"
            return types.SimpleNamespace(payload=types.SimpleNamespace(data=b"secret-key-0123456789abcdef\n"))

    fake = types.ModuleType("google.cloud.secretmanager")
    fake.SecretManagerServiceClient = FakeClient
    monkeypatch.setitem(sys.modules, "google.cloud.secretmanager", fake)
    import google.cloud

    monkeypatch.setattr(google.cloud, "secretmanager", fake, raising=False)
    source = PseudonymKeySource("gcp_secret", "projects/p/secrets/gatekeeper-key/versions/3")
    assert source.resolve() == b"secret-key-0123456789abcdef"


def test_the_key_never_enters_the_serialized_redaction_stage(monkeypatch):
    import pickle

    from pipeline.config import pseudonym_key_source
    from transforms.redaction.transform import RedactPii

    monkeypatch.setenv("GATEKEEPER_PSEUDONYM_KEY", "do-not-serialize-me-0123456789")
    stage = RedactPii(None, pseudonym_key_source(), run_id="r")
    blob = pickle.dumps(stage._fn)
    assert b"do-not-serialize-me" not in blob
