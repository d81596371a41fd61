"""The redaction engine: Presidio analysis + meeting-aware recognizers + keyed pseudonyms.

One ``RedactionEngine`` per worker (``DoFn.setup``): it loads the spaCy model once,
registers only the recognizers the YAML configuration lists, runs texts through
``nlp.pipe`` in batches, hands the precomputed ``NlpArtifacts`` to
``AnalyzerEngine.analyze`` and applies the configured per-entity operators itself
(non-overlapping spans: overlapping findings are merged and the strongest type wins).
"""
from __future__ import annotations

import logging
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer, LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from transforms.records import Participant
from transforms.redaction.config import (
    OperatorConfig,
    RedactionConfig,
    RedactionConfigError,
    load_config,
)
from transforms.redaction.name_lists import common_words, name_lists
from transforms.redaction.nlp_engine import PackagedSpacyNlpEngine
from transforms.redaction.normalize import normalize_value
from transforms.redaction.pseudonyms import Pseudonymizer
from transforms.redaction.recognizers import KNOWN_RECOGNIZERS, RECOGNIZER_CATALOGUE
from transforms.redaction.recognizers.roster_recognizer import (
    PARTICIPANT_KEY,
    RosterRecognizer,
    participant_identity,
)

logger = logging.getLogger(__name__)
_ROSTER_CACHE_SIZE = 256
_ROLE_WORDS = frozenset({
    "mr", "mrs", "ms", "mx", "dr", "prof", "sir", "madam", "madame", "miss", "mister", "dame", "lord", "lady",
    "chair", "chairman", "chairwoman", "chairperson", "chairs", "minister", "ministers", "deputy", "president",
    "vice", "secretary", "speaker", "presiding", "officer", "member", "members", "cabinet", "premier",
    "commissioner", "director", "professor", "doctor", "judge", "justice", "senator", "governor", "mayor",
    "councillor", "councilor", "officer", "general", "chief", "executive", "first", "prime", "state",
})
_DETERMINER_BEFORE = re.compile(r"\b(?:the|a|an|this|that)[ \t]+$", re.IGNORECASE)
_NAME_SUFFIX_AFTER = re.compile(r",?[ \t]+(?:PhD|Ph\.D\.|MD|M\.D\.|DDS|DVM|Esq\.?|Jr\.?|Sr\.?|II|III|IV)\b\.?", re.IGNORECASE)
_TITLE_BEFORE = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Miss|Mister|Madam|Rev|Hon)\.?[ \t]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class RedactionRequest:
    text: str
    meeting_id: Optional[str] = None
    roster: Tuple[Participant, ...] = ()


@dataclass(frozen=True)
class DetectedEntity:
    entity_type: str
    start: int                      # offsets in the input text
    end: int
    score: float


@dataclass(frozen=True)
class RedactionResult:
    text: str                       # redacted ("" when the segment is dropped)
    entities: Tuple[DetectedEntity, ...]
    entity_counts: Tuple[Tuple[str, int], ...]
    drop_segment: bool


class _NoContextEnhancer(ContextAwareEnhancer):
    """Context enhancement switched off by configuration: scores pass through unchanged."""

    def __init__(self):
        super().__init__(context_similarity_factor=0.0, min_score_with_context_similarity=0.0,
                         context_prefix_count=0, context_suffix_count=0)

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):  # noqa: D102
        return raw_results


@dataclass
class _Span:
    start: int
    end: int
    entity_type: str
    score: float
    identity: Optional[str]         # participant identity from the roster, if any


def _chunks(text: str, max_chars: int) -> List[Tuple[int, str]]:
    """Split an over-long text at line or space boundaries into (offset, chunk) pairs."""
    if len(text) <= max_chars:
        return [(0, text)]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + max_chars)
        if end < len(text):
            cut = text.rfind("\n", start + max_chars // 2, end)
            if cut < 0:
                cut = text.rfind(" ", start + max_chars // 2, end)
            end = cut + 1 if cut >= 0 else end
        out.append((start, text[start:end]))
        start = end
    return out


class RedactionEngine:
    """Detects and replaces PII. Build with ``RedactionEngine.load``."""

    def __init__(self, config: RedactionConfig, pseudonymizer: Pseudonymizer):
        self.config = config
        self.pseudonymizer = pseudonymizer
        self.nlp_engine = PackagedSpacyNlpEngine(config.nlp, config.language)
        self.nlp_engine.load()
        recognizers = self._build_recognizers(config)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[config.language])
        enhancer = LemmaContextAwareEnhancer() if config.context_enhancement else _NoContextEnhancer()
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=self.nlp_engine,
                                       supported_languages=[config.language],
                                       context_aware_enhancer=enhancer)
        self.entities = list(config.entities)
        self._thresholds = {e: config.threshold_for(e) for e in config.entities}
        self._operators = {e: config.operator_for(e) for e in config.entities}
        self._roster_cache: "OrderedDict[Tuple, RosterRecognizer]" = OrderedDict()

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, config_path: Optional[str], pseudonym_key: bytes,
             pseudonym_scope: str = "dataset") -> "RedactionEngine":
        """Load and validate the YAML config (None/"" → packaged); fail closed on any problem."""
        config = load_config(config_path, KNOWN_RECOGNIZERS)
        pseudonymizer = Pseudonymizer(pseudonym_key, pseudonym_scope, config.pseudonym_hex_chars)
        return cls(config, pseudonymizer)

    def _build_recognizers(self, config: RedactionConfig) -> List:
        recognizers = []
        context = dict(config.context_words)
        needed = set(config.entities)
        for spec in config.recognizers:
            options = dict(spec.options)
            if spec.name == "SpacyRecognizer":
                supported = sorted(set(self.nlp_engine.get_supported_entities()) & needed)
                recognizer = SpacyRecognizer(supported_language=config.language, supported_entities=supported,
                                             ner_strength=config.nlp.default_score)
            else:
                factory = RECOGNIZER_CATALOGUE[spec.name]
                if spec.name in context:
                    options["context"] = list(context[spec.name])
                try:
                    recognizer = factory(supported_language=config.language, **options)
                except TypeError:
                    raise RedactionConfigError(f"redaction config has invalid options for recognizer {spec.name}") from None
            if not set(recognizer.supported_entities) & needed:
                raise RedactionConfigError(
                    f"redaction config lists recognizer {spec.name} for no configured entity")
            recognizers.append(recognizer)
        return recognizers

    # ------------------------------------------------------------------ pseudonyms
    def participant_pseudonym(self, meeting_id: Optional[str], participant: Optional[Participant],
                              label: Optional[str]) -> Optional[str]:
        """Token for a speaker/author/respondent field; same as that participant's mentions."""
        if participant is not None:
            identity = participant_identity(participant)
        elif label is not None and normalize_value(label):
            identity = normalize_value(label)
        else:
            return None
        return self.pseudonymizer.token_for_identity("PERSON", identity, meeting_id)

    def _roster_recognizer(self, meeting_id: Optional[str], roster: Tuple[Participant, ...]) -> Optional[RosterRecognizer]:
        if not roster:
            return None
        key = (meeting_id, roster)
        recognizer = self._roster_cache.get(key)
        if recognizer is None:
            recognizer = RosterRecognizer(roster, supported_language=self.config.language)
            self._roster_cache[key] = recognizer
            if len(self._roster_cache) > _ROSTER_CACHE_SIZE:
                self._roster_cache.popitem(last=False)
        else:
            self._roster_cache.move_to_end(key)
        return recognizer

    # ------------------------------------------------------------------ analysis
    def _docs(self, texts: List[str]) -> Iterable:
        """spaCy docs for ``texts``: the NER model only runs on texts that contain letters."""
        nlp = self.nlp_engine.model
        needs_model = [i for i, t in enumerate(texts) if any(ch.isalpha() for ch in t)]
        piped = nlp.pipe((texts[i] for i in needs_model), batch_size=self.config.nlp.batch_size)
        model_set = set(needs_model)
        for i, text in enumerate(texts):
            yield next(piped) if i in model_set else nlp.make_doc(text)

    def _analyze(self, text: str, doc, roster: Optional[RosterRecognizer]) -> List[RecognizerResult]:
        artifacts = self.nlp_engine.artifacts_from_doc(doc)
        return self.analyzer.analyze(text=text, language=self.config.language, entities=self.entities,
                                     nlp_artifacts=artifacts, score_threshold=0.0,
                                     ad_hoc_recognizers=[roster] if roster else None)

    def _select(self, results: Sequence[RecognizerResult], roster: Optional[RosterRecognizer],
                text: str) -> List[_Span]:
        spans = [
            _Span(r.start, r.end, r.entity_type, r.score,
                  (r.recognition_metadata or {}).get(PARTICIPANT_KEY))
            for r in results
            if r.entity_type in self._thresholds and r.score >= self._thresholds[r.entity_type] and r.end > r.start
        ]
        spans = [s for s in spans if not self._determiner_false_person(s, text) and not self._role_only(s, text)]
        spans.sort(key=lambda s: (s.start, -s.end))
        merged: List[List[_Span]] = []
        for span in spans:
            if merged and span.start < max(s.end for s in merged[-1]):
                merged[-1].append(span)
            else:
                merged.append([span])
        out = []
        for group in merged:
            # roster matches win ties: they carry the participant identity
            winner = max(group, key=lambda s: (s.score, s.identity is not None, s.end - s.start))
            start, end = min(s.start for s in group), max(s.end for s in group)
            identity = winner.identity
            if winner.entity_type == "PERSON":
                title = _TITLE_BEFORE.search(text, max(0, start - 12), start)
                if title and (not out or out[-1].end <= title.start()):
                    start = title.start()
                suffix = _NAME_SUFFIX_AFTER.match(text, end)
                if suffix:
                    end = suffix.end()
            if winner.entity_type == "PERSON" and identity is None and roster is not None:
                identity = roster.identity_for(text[start:end])
            out.append(_Span(start, end, winner.entity_type, winner.score, identity))
        return out

    @staticmethod
    def _role_only(span: _Span, text: str) -> bool:
        """'Chair', 'Mr. Chair', 'Minister': a form of address without a name is not a person."""
        if span.entity_type != "PERSON" or span.identity is not None:
            return False
        words = [w.strip(".,'’").casefold() for w in text[span.start:span.end].split()]
        return bool(words) and all(w in _ROLE_WORDS for w in words)

    @staticmethod
    def _determiner_false_person(span: _Span, text: str) -> bool:
        """NER calls 'the Bill' / 'the Chair' a person; a name after 'the' without a roster match is not."""
        word = text[span.start:span.end].strip()
        if span.entity_type != "PERSON" or span.identity is not None or " " in word:
            return False
        key = word.casefold()
        # given names rarely follow a determiner ("the Bill"); surnames do ("the Vogt novel")
        if key not in common_words() and key not in name_lists()[0]:
            return False
        return bool(_DETERMINER_BEFORE.search(text, max(0, span.start - 6), span.start))

    def _replacement(self, span: _Span, original: str, operator: OperatorConfig, meeting_id: Optional[str]) -> str:
        if operator.type == "pseudonym":
            if span.identity is not None:
                return self.pseudonymizer.token_for_identity(span.entity_type, span.identity, meeting_id)
            return self.pseudonymizer.token(span.entity_type, original, meeting_id)
        if operator.type == "placeholder":
            return f"<{span.entity_type}>"
        if operator.type == "mask":
            n = len(original) if operator.chars_to_mask == 0 else min(operator.chars_to_mask, len(original))
            if operator.from_end:
                return original[: len(original) - n] + operator.masking_char * n
            return operator.masking_char * n + original[n:]
        raise RedactionConfigError(f"operator {operator.type} has no replacement")  # pragma: no cover

    def _apply(self, text: str, spans: List[_Span], meeting_id: Optional[str]) -> RedactionResult:
        entities = tuple(DetectedEntity(s.entity_type, s.start, s.end, round(s.score, 4)) for s in spans)
        counts = tuple(sorted(Counter(s.entity_type for s in spans).items()))
        if any(self._operators[s.entity_type].type == "drop_segment" for s in spans):
            return RedactionResult(text="", entities=entities, entity_counts=counts, drop_segment=True)
        pieces, cursor = [], 0
        for span in spans:
            pieces.append(text[cursor:span.start])
            pieces.append(self._replacement(span, text[span.start:span.end], self._operators[span.entity_type], meeting_id))
            cursor = span.end
        pieces.append(text[cursor:])
        return RedactionResult(text="".join(pieces), entities=entities, entity_counts=counts, drop_segment=False)

    def redact_batch(self, requests: Sequence[RedactionRequest]) -> List[RedactionResult]:
        """Redact every request; texts go through ``nlp.pipe`` together (meetings may mix)."""
        pieces: List[Tuple[int, int, str]] = []       # (request index, offset, chunk)
        for index, request in enumerate(requests):
            if not isinstance(request.text, str):
                raise TypeError("RedactionRequest.text must be a string")
            for offset, chunk in _chunks(request.text, self.config.nlp.max_chars):
                pieces.append((index, offset, chunk))
        rosters = [self._roster_recognizer(r.meeting_id, tuple(r.roster)) for r in requests]
        found: Dict[int, List[RecognizerResult]] = {i: [] for i in range(len(requests))}
        for (index, offset, chunk), doc in zip(pieces, self._docs([p[2] for p in pieces])):
            if not chunk.strip():
                continue
            for r in self._analyze(chunk, doc, rosters[index]):
                r.start += offset
                r.end += offset
                found[index].append(r)
        results = []
        for index, request in enumerate(requests):
            spans = self._select(found[index], rosters[index], request.text)
            results.append(self._apply(request.text, spans, request.meeting_id))
        return results

    def redact(self, request: RedactionRequest) -> RedactionResult:
        return self.redact_batch([request])[0]
