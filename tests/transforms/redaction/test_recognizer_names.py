"""The light list of recognizer names matches the catalogue of classes."""
from transforms.redaction.recognizer_names import KNOWN_RECOGNIZERS, SPACY_RECOGNIZER
from transforms.redaction.recognizers import RECOGNIZER_CATALOGUE


def test_known_names_are_the_catalogue_plus_the_spacy_recognizer():
    assert set(KNOWN_RECOGNIZERS) == set(RECOGNIZER_CATALOGUE) | {SPACY_RECOGNIZER}
    assert len(KNOWN_RECOGNIZERS) == len(set(KNOWN_RECOGNIZERS))
