"""The one typed configuration object, loaded from YAML and overridden by CLI flags.

Every stage receives the part it needs (``config.ingest``, ``config.consent``...);
nothing reads globals or the environment except the pseudonym key loaders at the end.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

DEFAULT_CONFIG_PATH = Path(__file__).with_name("defaults") / "gatekeeper.yaml"
PSEUDONYM_KEY_ENV = "GATEKEEPER_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16


class ConfigError(ValueError):
    """Invalid or missing configuration: exit code 2, nothing published."""


class RunFailed(Exception):
    """An expected failure with an exit code and a one-line, PII-free message."""

    def __init__(self, exit_code: int, message: str):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class IngestLimits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_expanded_bytes: int = 200 * 1024 * 1024     # zip containers (docx/pptx/xlsx)
    max_compression_ratio: float = 200.0
    max_pdf_pages: int = 500
    max_image_pixels: int = 40_000_000
    ocr_enabled: bool = True


@dataclass(frozen=True)
class ConsentPolicy:
    purpose: str = "ai_training"
    require_participant_grant: bool = True
    special_categories: Tuple[str, ...] = ("telehealth", "therapy", "medical", "legal", "hr", "education")
    drop_unknown_speakers: bool = True
    derived_requires_complete_sources: bool = True
    owner_grant_required: bool = True


@dataclass(frozen=True)
class RedactionSettings:
    config_path: str = ""           # empty: the packaged transforms/redaction/config/redaction.yaml
    pseudonym_scope: str = "dataset"  # "meeting" or "dataset"
    batch_size: int = 96


@dataclass(frozen=True)
class ValidationSettings:
    suites_dir: str = ""            # empty: the packaged expectations/suites
    drift_window: int = 7
    batch_rows: int = 5000


@dataclass(frozen=True)
class OutputSettings:
    quarantine_retention_days: float = 14.0   # quarantined runs older than this are deleted by each run


@dataclass(frozen=True)
class GatekeeperConfig:
    ingest: IngestLimits = field(default_factory=IngestLimits)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)
    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    output: OutputSettings = field(default_factory=OutputSettings)

    def fingerprint(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {
    "ingest": IngestLimits,
    "consent": ConsentPolicy,
    "redaction": RedactionSettings,
    "validation": ValidationSettings,
    "output": OutputSettings,
}


def _build_section(cls, raw: Mapping[str, Any], section: str):
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config section '{section}' must be a mapping")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) in config section '{section}': {', '.join(unknown)}")
    values = {}
    defaults = cls()
    for name, value in raw.items():
        expected = type(getattr(defaults, name))
        if expected is tuple:
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"config '{section}.{name}' must be a list")
            value = tuple(str(v) for v in value)
        elif expected is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"config '{section}.{name}' must be true or false")
        elif expected in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"config '{section}.{name}' must be a number")
            if not math.isfinite(value):
                raise ConfigError(f"config '{section}.{name}' must be a finite number")
            if expected is int and value != int(value):
                raise ConfigError(f"config '{section}.{name}' must be a whole number")
            value = expected(value)
            if value <= 0:  # every number is a limit or a size; zero or less disables a safeguard
                raise ConfigError(f"config '{section}.{name}' must be positive")
        elif expected is str and not isinstance(value, str):
            raise ConfigError(f"config '{section}.{name}' must be a string")
        values[name] = value
    return cls(**values)


def _merge(merged: Dict[str, Dict[str, Any]], raw: Mapping[str, Any]) -> None:
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(unknown)}")
    for section, values in raw.items():
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(f"config section '{section}' must be a mapping")
        merged.setdefault(section, {}).update(values)


def load_config(path: Optional[str] = None, overrides: Optional[Mapping[str, Mapping[str, Any]]] = None) -> GatekeeperConfig:
    """Load the packaged defaults, then ``path`` on top, then ``overrides``."""
    merged: Dict[str, Dict[str, Any]] = {}
    sources = [DEFAULT_CONFIG_PATH] + ([Path(path)] if path else [])
    for source in sources:
        try:
            raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {source}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file is not valid YAML: {source} ({type(exc).__name__})") from None
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"config file must hold a mapping: {source}")
        _merge(merged, raw)
    _merge(merged, overrides or {})
    built = {name: _build_section(cls, merged.get(name, {}), name) for name, cls in _SECTIONS.items()}
    if built["redaction"].pseudonym_scope not in ("meeting", "dataset"):
        raise ConfigError("config 'redaction.pseudonym_scope' must be 'meeting' or 'dataset'")
    return GatekeeperConfig(**built)


@dataclass(frozen=True)
class PseudonymKeySource:
    """Where the pseudonym key is read from. Pipelines carry this, never the key itself.

    kind ``env`` (a variable name), ``file`` (a path every worker can read) or ``gcp_secret``
    (a Secret Manager version, ``projects/P/secrets/S/versions/V``: the way to give the key
    to Dataflow workers). ``resolve()`` runs on the driver once (fail closed) and on each
    worker in ``DoFn.setup``.
    """

    kind: str
    ref: str

    def resolve(self) -> bytes:
        if self.kind == "env":
            return load_pseudonym_key(environ={PSEUDONYM_KEY_ENV: os.environ.get(self.ref, "")})
        if self.kind == "file":
            return load_pseudonym_key(key_file=self.ref)
        if self.kind == "gcp_secret":
            return _check_key(_read_gcp_secret(self.ref), "--pseudonym-key-secret")
        raise ConfigError(f"unknown pseudonym key source kind '{self.kind}'")


def _read_gcp_secret(name: str) -> bytes:
    try:
        from google.cloud import secretmanager
    except ImportError:
        raise ConfigError("--pseudonym-key-secret needs google-cloud-secret-manager "
                          "(pip install 'apache-beam[gcp]')") from None
    try:
        response = secretmanager.SecretManagerServiceClient().access_secret_version(name=name)
    except Exception as exc:  # auth, network, missing secret: fail closed, no details
        raise ConfigError(f"cannot read the pseudonym key secret ({type(exc).__name__})") from None
    return response.payload.data.strip()


def pseudonym_key_source(key_file: Optional[str] = None, secret: Optional[str] = None) -> PseudonymKeySource:
    """The configured key source, resolved once here so a missing key fails before any work."""
    if key_file and secret:
        raise ConfigError("pass only one of --pseudonym-key-file and --pseudonym-key-secret")
    if secret:
        source = PseudonymKeySource("gcp_secret", secret)
    elif key_file:
        source = PseudonymKeySource("file", os.path.abspath(key_file))
    else:
        source = PseudonymKeySource("env", PSEUDONYM_KEY_ENV)
    source.resolve()
    return source


def _check_key(key: bytes, source: str) -> bytes:
    if not key:
        raise ConfigError(f"no pseudonymization key: set {PSEUDONYM_KEY_ENV} or pass --pseudonym-key-file")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"pseudonymization key from {source} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def load_pseudonym_key(key_file: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> bytes:
    """The HMAC key for pseudonyms; fails closed when absent or too short."""
    environ = os.environ if environ is None else environ
    if key_file:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read pseudonym key file ({type(exc).__name__})") from None
        source = "--pseudonym-key-file"
    else:
        key = environ.get(PSEUDONYM_KEY_ENV, "").strip().encode()
        source = PSEUDONYM_KEY_ENV
    return _check_key(key, source)
