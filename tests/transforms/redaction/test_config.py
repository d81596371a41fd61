from pathlib import Path

import pytest
import yaml

from tests.transforms.redaction.conftest import KEY
from transforms.redaction.config import PACKAGED_CONFIG_PATH, RedactionConfigError, load_config
from transforms.redaction.engine import RedactionEngine, RedactionRequest
from transforms.redaction.pseudonyms import PseudonymKeyError
from transforms.redaction.recognizers import KNOWN_RECOGNIZERS


def _packaged() -> dict:
    return yaml.safe_load(PACKAGED_CONFIG_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc) -> str:
    path = tmp_path / "redaction.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def test_packaged_config_loads():
    config = load_config(None, KNOWN_RECOGNIZERS)
    assert "PERSON" in config.entities and config.operator_for("PERSON").type == "pseudonym"
    assert load_config("", KNOWN_RECOGNIZERS) == config


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.pop("operators"), "missing key"),
    (lambda d: d.update(extra=1), "unknown key"),
    (lambda d: d.update(version=2), "version"),
    (lambda d: d["recognizers"].append("NoSuchRecognizer"), "not a known recognizer"),
    (lambda d: d["recognizers"].append("IbanCodeRecognizer"), "twice"),
    (lambda d: d["operators"].update(PERSON="encrypt"), "operators.PERSON.type"),
    (lambda d: d["operators"].update(LOCATION="placeholder"), "not listed in 'entities'"),
    (lambda d: d["thresholds"].update(PERSON=1.5), "thresholds.PERSON"),
    (lambda d: d["nlp"].update(keep_components=["tagger"]), "include 'ner'"),
    (lambda d: d["nlp"].update(batch_size=0), "nlp.batch_size"),
    (lambda d: d.update(entities=[]), "entities"),
    (lambda d: d.update(entities=["person"]), "upper-case"),
])
def test_invalid_configs_fail_with_one_line(tmp_path, mutate, fragment):
    doc = _packaged()
    mutate(doc)
    with pytest.raises(RedactionConfigError) as info:
        RedactionEngine.load(_write(tmp_path, doc), KEY)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_missing_empty_and_malformed_files_fail(tmp_path):
    with pytest.raises(RedactionConfigError, match="not found"):
        RedactionEngine.load(str(tmp_path / "absent.yaml"), KEY)
    with pytest.raises(RedactionConfigError, match="empty"):
        RedactionEngine.load(_write(tmp_path, ""), KEY)
    with pytest.raises(RedactionConfigError, match="not valid YAML"):
        RedactionEngine.load(_write(tmp_path, "version: [1"), KEY)
    assert issubclass(RedactionConfigError, ValueError)


def test_missing_model_package_fails_closed(tmp_path):
    doc = _packaged()
    doc["nlp"]["model_package"] = "no_such_spacy_model_pkg"
    with pytest.raises(RedactionConfigError, match="not installed"):
        RedactionEngine.load(_write(tmp_path, doc), KEY)


@pytest.mark.parametrize("key", [b"", b"short", None, "a-string-key-that-is-long-enough"])
def test_missing_or_weak_key_fails_closed(key):
    with pytest.raises(PseudonymKeyError):
        RedactionEngine.load(None, key)


def test_bad_scope_fails():
    with pytest.raises(PseudonymKeyError):
        RedactionEngine.load(None, KEY, "global")


def test_operators_are_configurable_per_entity(tmp_path):
    doc = _packaged()
    doc["operators"].update(EMAIL_ADDRESS="placeholder",
                            PHONE_NUMBER={"type": "mask", "masking_char": "#", "chars_to_mask": 4, "from_end": True},
                            US_SSN="drop_segment")
    engine = RedactionEngine.load(_write(tmp_path, doc), KEY)
    out = engine.redact_batch([
        RedactionRequest("mail jo@example.com now"),
        RedactionRequest("call 415-555-0172 now"),
        RedactionRequest("ssn 284-89-3485 here"),
    ])
    assert out[0].text == "mail <EMAIL_ADDRESS> now"
    assert out[1].text == "call 415-555-#### now"
    assert out[2].drop_segment and out[2].text == "" and dict(out[2].entity_counts) == {"US_SSN": 1}
