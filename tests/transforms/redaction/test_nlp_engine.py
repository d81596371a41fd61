"""The packaged spaCy model: loaded once per process with only the kept components."""
from dataclasses import replace

import pytest

from transforms.redaction.config import RedactionConfigError, load_config
from transforms.redaction.nlp_engine import PackagedSpacyNlpEngine, preload_default_model


def test_the_model_loads_once_with_only_the_kept_components():
    config = load_config(None).nlp
    preload_default_model()                       # what the worker fork server does
    first, second = PackagedSpacyNlpEngine(config), PackagedSpacyNlpEngine(config)
    first.load()
    second.load()
    assert first.model is second.model            # one model per process, shared by the engines
    assert first.model.pipe_names == list(config.keep_components)
    assert "senter" not in first.model.component_names   # disabled components are excluded too


def test_a_component_the_model_lacks_is_a_config_error():
    config = replace(load_config(None).nlp, keep_components=("ner", "no_such_component"))
    with pytest.raises(RedactionConfigError, match="lacks component"):
        PackagedSpacyNlpEngine(config).load()
