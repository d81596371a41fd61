"""spaCy NLP engine for Presidio, loaded from the model's pip package, never downloaded.

Only the components the configuration keeps run (by default just ``ner``, which has its
own embedding layer in the small English models); lemmas are then the lower-cased token
text, which is what Presidio's context enhancer compares against.
"""
from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import List, Tuple

from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import get_model_meta

from transforms.redaction.config import NlpConfig, RedactionConfigError, load_config


def _excluded_components(module, config: NlpConfig) -> Tuple[str, ...]:
    """The model's components that ``config`` does not keep (from the package's meta.json)."""
    meta = get_model_meta(Path(module.__file__).parent)
    enabled = list(meta.get("pipeline", []))
    missing = [c for c in config.keep_components if c not in enabled]
    if missing:
        raise RedactionConfigError(f"spaCy model lacks component(s): {', '.join(missing)}")
    return tuple(c for c in meta.get("components", enabled) if c not in config.keep_components)


@functools.lru_cache(maxsize=4)
def _load_model(package: str, exclude: Tuple[str, ...]) -> Language:
    """One loaded model per (package, excluded components) in a process, loaded once."""
    return importlib.import_module(package).load(exclude=list(exclude))


def preload_default_model() -> None:
    """Load the packaged redaction config's model into this process's cache.

    Called by the worker fork server (``pipeline.forked_workers``), so that forked workers
    start with the model in memory; a run with another model or components loads its own.
    """
    PackagedSpacyNlpEngine(load_config(None).nlp).load()


class PackagedSpacyNlpEngine(SpacyNlpEngine):
    """A ``SpacyNlpEngine`` over a pip-installed model with unneeded components excluded."""

    def __init__(self, config: NlpConfig, language: str = "en"):
        ner_config = NerModelConfiguration(
            model_to_presidio_entity_mapping=dict(config.entity_mapping),
            labels_to_ignore=list(config.labels_to_ignore),
            default_score=config.default_score,
        )
        super().__init__(models=[{"lang_code": language, "model_name": config.model_package}],
                         ner_model_configuration=ner_config)
        self.config = config
        self.language = language

    def load(self) -> None:
        """Import the model package and load it with only the kept components."""
        try:
            module = importlib.import_module(self.config.model_package)
        except ImportError:
            raise RedactionConfigError(
                f"spaCy model package not installed: {self.config.model_package}") from None
        exclude = _excluded_components(module, self.config)
        nlp = _load_model(self.config.model_package, exclude)
        nlp.max_length = max(nlp.max_length, self.config.max_chars + 1)
        self.nlp = {self.language: nlp}

    @property
    def model(self) -> Language:
        return self.nlp[self.language]

    def artifacts_from_doc(self, doc: Doc) -> NlpArtifacts:
        return self._doc_to_nlp_artifact(doc, self.language)

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        has_lemmas = "lemmatizer" in self.model.pipe_names
        lemmas: List[str] = [t.lemma_ if has_lemmas else t.lower_ for t in doc]
        entities = self._get_entities(doc)
        scores = self._get_scores_for_entities(doc)
        entities, scores = self._get_updated_entities(entities, scores)
        return NlpArtifacts(entities=entities, tokens=doc, tokens_indices=[t.idx for t in doc],
                            lemmas=lemmas, nlp_engine=self, language=language, scores=scores)
