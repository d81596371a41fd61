"""Load and validate the redaction YAML configuration.

Presidio's own provider silently falls back to defaults when a file is missing or
malformed; this loader does not: every problem raises ``RedactionConfigError`` with a
one-line message that names the offending key, never a value from analysed text.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

PACKAGED_CONFIG_PATH = Path(__file__).with_name("config") / "redaction.yaml"

OPERATOR_TYPES = ("pseudonym", "placeholder", "mask", "drop_segment")
PSEUDONYM_SCOPES = ("meeting", "dataset")
SCHEMA_VERSION = 1


class RedactionConfigError(ValueError):
    """The redaction configuration is missing or invalid; the run must fail."""


@dataclass(frozen=True)
class OperatorConfig:
    type: str                         # one of OPERATOR_TYPES
    masking_char: str = "*"
    chars_to_mask: int = 0            # 0: mask every character
    from_end: bool = False


@dataclass(frozen=True)
class NlpConfig:
    model_package: str
    keep_components: Tuple[str, ...]  # spaCy components left enabled (others excluded)
    batch_size: int
    max_chars: int                    # longer texts are analysed in chunks of this size
    default_score: float
    entity_mapping: Tuple[Tuple[str, str], ...]  # spaCy label -> Presidio entity
    labels_to_ignore: Tuple[str, ...]


@dataclass(frozen=True)
class RecognizerConfig:
    name: str                         # class name, looked up in the recognizer catalogue
    options: Tuple[Tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class RedactionConfig:
    language: str
    nlp: NlpConfig
    recognizers: Tuple[RecognizerConfig, ...]
    entities: Tuple[str, ...]                         # entity types that are redacted
    thresholds: Tuple[Tuple[str, float], ...]         # per entity minimum score
    default_threshold: float
    operators: Tuple[Tuple[str, OperatorConfig], ...]  # per entity
    default_operator: OperatorConfig
    context_enhancement: bool
    context_words: Tuple[Tuple[str, Tuple[str, ...]], ...]  # recognizer name -> words
    pseudonym_hex_chars: int

    def threshold_for(self, entity: str) -> float:
        return dict(self.thresholds).get(entity, self.default_threshold)

    def operator_for(self, entity: str) -> OperatorConfig:
        return dict(self.operators).get(entity, self.default_operator)


def _fail(message: str) -> RedactionConfigError:
    return RedactionConfigError(message)


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(f"redaction config '{where}' must be a mapping")
    return raw


def _check_keys(raw: Mapping[str, Any], where: str, required: Tuple[str, ...], optional: Tuple[str, ...] = ()) -> None:
    missing = [k for k in required if k not in raw]
    if missing:
        raise _fail(f"redaction config '{where}' is missing key(s): {', '.join(missing)}")
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        raise _fail(f"redaction config '{where}' has unknown key(s): {', '.join(map(str, unknown))}")


def _str(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _fail(f"redaction config '{where}' must be a non-empty string")
    return raw.strip()


def _int(raw: Any, where: str, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise _fail(f"redaction config '{where}' must be an integer >= {minimum}")
    return raw


def _score(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0.0 <= float(raw) <= 1.0:
        raise _fail(f"redaction config '{where}' must be a number between 0 and 1")
    return float(raw)


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise _fail(f"redaction config '{where}' must be true or false")
    return raw


def _str_list(raw: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(raw, list):
        raise _fail(f"redaction config '{where}' must be a list")
    return tuple(_str(v, f"{where}[{i}]") for i, v in enumerate(raw))


def _entity_name(raw: Any, where: str) -> str:
    name = _str(raw, where)
    if not name.replace("_", "").isalnum() or name.upper() != name:
        raise _fail(f"redaction config '{where}' must be an upper-case entity name")
    return name


def _operator(raw: Any, where: str) -> OperatorConfig:
    if isinstance(raw, str):
        raw = {"type": raw}
    raw = _mapping(raw, where)
    _check_keys(raw, where, ("type",), ("masking_char", "chars_to_mask", "from_end"))
    kind = _str(raw["type"], f"{where}.type")
    if kind not in OPERATOR_TYPES:
        raise _fail(f"redaction config '{where}.type' must be one of {', '.join(OPERATOR_TYPES)}")
    masking_char = raw.get("masking_char", "*")
    if not isinstance(masking_char, str) or len(masking_char) != 1:
        raise _fail(f"redaction config '{where}.masking_char' must be one character")
    return OperatorConfig(
        type=kind,
        masking_char=masking_char,
        chars_to_mask=_int(raw.get("chars_to_mask", 0), f"{where}.chars_to_mask", 0),
        from_end=_bool(raw.get("from_end", False), f"{where}.from_end"),
    )


def _nlp(raw: Any) -> NlpConfig:
    raw = _mapping(raw, "nlp")
    _check_keys(raw, "nlp", ("model_package", "keep_components", "entity_mapping"),
                ("batch_size", "max_chars", "default_score", "labels_to_ignore"))
    mapping_raw = _mapping(raw["entity_mapping"], "nlp.entity_mapping")
    if not mapping_raw:
        raise _fail("redaction config 'nlp.entity_mapping' must not be empty")
    mapping = tuple((_str(k, "nlp.entity_mapping"), _entity_name(v, f"nlp.entity_mapping.{k}"))
                    for k, v in mapping_raw.items())
    keep = _str_list(raw["keep_components"], "nlp.keep_components")
    if "ner" not in keep:
        raise _fail("redaction config 'nlp.keep_components' must include 'ner'")
    return NlpConfig(
        model_package=_str(raw["model_package"], "nlp.model_package"),
        keep_components=keep,
        batch_size=_int(raw.get("batch_size", 64), "nlp.batch_size", 1),
        max_chars=_int(raw.get("max_chars", 100_000), "nlp.max_chars", 1000),
        default_score=_score(raw.get("default_score", 0.85), "nlp.default_score"),
        entity_mapping=mapping,
        labels_to_ignore=_str_list(raw.get("labels_to_ignore", []), "nlp.labels_to_ignore"),
    )


def _recognizers(raw: Any, known: Optional[Tuple[str, ...]]) -> Tuple[RecognizerConfig, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail("redaction config 'recognizers' must be a non-empty list")
    out = []
    for i, item in enumerate(raw):
        where = f"recognizers[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        item = _mapping(item, where)
        _check_keys(item, where, ("name",), ("options",))
        name = _str(item["name"], f"{where}.name")
        if known is not None and name not in known:
            raise _fail(f"redaction config '{where}.name' is not a known recognizer: {name}")
        options = _mapping(item.get("options", {}), f"{where}.options")
        out.append(RecognizerConfig(name=name, options=tuple(sorted(options.items()))))
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        raise _fail("redaction config 'recognizers' lists a recognizer twice")
    return tuple(out)


def parse_config(raw: Any, known_recognizers: Optional[Tuple[str, ...]] = None) -> RedactionConfig:
    """Validate a parsed YAML document and build the typed configuration."""
    raw = _mapping(raw, "<root>")
    _check_keys(raw, "<root>", ("version", "language", "nlp", "recognizers", "entities", "operators"),
                ("thresholds", "context_enhancement", "context_words", "pseudonym_hex_chars"))
    if raw["version"] != SCHEMA_VERSION:
        raise _fail(f"redaction config 'version' must be {SCHEMA_VERSION}")
    entities = _str_list(raw["entities"], "entities")
    for i, e in enumerate(entities):
        _entity_name(e, f"entities[{i}]")
    if not entities:
        raise _fail("redaction config 'entities' must not be empty")

    thresholds_raw = _mapping(raw.get("thresholds", {}), "thresholds")
    default_threshold = _score(thresholds_raw.get("default", 0.5), "thresholds.default")
    thresholds = tuple((_entity_name(k, "thresholds"), _score(v, f"thresholds.{k}"))
                       for k, v in thresholds_raw.items() if k != "default")

    ops_raw = _mapping(raw["operators"], "operators")
    if "default" not in ops_raw:
        raise _fail("redaction config 'operators' is missing key(s): default")
    default_operator = _operator(ops_raw["default"], "operators.default")
    operators = tuple((_entity_name(k, "operators"), _operator(v, f"operators.{k}"))
                      for k, v in ops_raw.items() if k != "default")
    for name, _ in thresholds + operators:
        if name not in entities:
            raise _fail(f"redaction config names an entity not listed in 'entities': {name}")

    ctx_raw = _mapping(raw.get("context_words", {}), "context_words")
    context_words = tuple((_str(k, "context_words"), _str_list(v, f"context_words.{k}")) for k, v in ctx_raw.items())
    hex_chars = _int(raw.get("pseudonym_hex_chars", 8), "pseudonym_hex_chars", 6)
    if hex_chars > 64:
        raise _fail("redaction config 'pseudonym_hex_chars' must be at most 64")
    return RedactionConfig(
        language=_str(raw["language"], "language"),
        nlp=_nlp(raw["nlp"]),
        recognizers=_recognizers(raw["recognizers"], known_recognizers),
        entities=entities,
        thresholds=thresholds,
        default_threshold=default_threshold,
        operators=operators,
        default_operator=default_operator,
        context_enhancement=_bool(raw.get("context_enhancement", False), "context_enhancement"),
        context_words=context_words,
        pseudonym_hex_chars=hex_chars,
    )


def load_config(path: Optional[str], known_recognizers: Optional[Tuple[str, ...]] = None) -> RedactionConfig:
    """Read ``path`` (None or "" → the packaged file) and validate it. Never falls back."""
    source = Path(path) if path else PACKAGED_CONFIG_PATH
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(f"redaction config file not found: {source}") from None
    except OSError as exc:
        raise _fail(f"redaction config file unreadable: {source} ({type(exc).__name__})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(f"redaction config is not valid YAML: {source} ({type(exc).__name__})") from None
    if raw is None:
        raise _fail(f"redaction config file is empty: {source}")
    return parse_config(raw, known_recognizers)


def options_dict(options: Tuple[Tuple[str, Any], ...]) -> Dict[str, Any]:
    return dict(options)
