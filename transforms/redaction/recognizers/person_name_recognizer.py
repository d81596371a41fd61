"""Person names the statistical NER misses, from name lists, cue phrases and coordination.

Runs over the words of the text (its own regex word split, so odd quoting or escaping
does not hide a name) plus the NER entities Presidio already has:

* a capitalised given name, optionally followed by capitalised words (``Taylor Pusa``);
* a capitalised surname on its own, unless NER typed it as a place/organisation;
* one or two words after a naming cue (``my name is``, ``call me``, ``Dear``, ``Mr.``...);
* a capitalised word joined by ``and``/``,``/``&`` to a name found above or by NER;
* a NER entity typed ORG/GPE/NORP/... whose first word is a given name.

List entries that are ordinary words in meeting text never count on their own. A text
with no upper-case letter at all (typical of chat) is matched case-insensitively.
"""
from __future__ import annotations

import re
from typing import List, Set, Tuple

from presidio_analyzer import LocalRecognizer, RecognizerResult

from transforms.redaction.name_lists import common_words, english_words, name_lists, raw_surnames

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]{2}))*\.?")
_CUE = re.compile(
    r"(?i)(?:\bmy name is|\bmy name's|\bname is|\bname:|\bi am|\bi'm|\bcall me|\bcalls me|\bcalled|\bnamed|"
    r"\bdear|\bhi|\bhello|\bhey|\bthanks|\bthank you|\bsincerely|\bregards|\battn:?|\bsigned|"
    r"\b(?:mr|mrs|ms|mx|dr|prof|sir|madam|miss|mister)\.?)[ \t,:]*$")
_STRONG_CUE = re.compile(r"(?i)(?:name is|name's|name:|call me|calls me|called|named)[ \t]*$")
_CAPITALISED = re.compile(r"(?<![\w'’])(?!I\b|I['’])[^\W\d_a-z]")
_SURNAME_SHAPE = re.compile(
    r"(?:sson|ssen|sen|ström|strom|berg|qvist|kvist|dóttir|dottir|ić|vić|ová|ski|ska|sky|wicz|icz|oglu|oğlu|"
    r"enko|chuk|escu|opoulos|akis|ishvili|ashvili|dze|ovich|ovna|ovski|ovska|ek|ák|ár|ász|ényi|elli|etti|ucci)$")
# surname endings specific enough to outweigh a place/organisation guess of the NER model
_STRONG_SURNAME_SHAPE = re.compile(
    r"(?:sson|ström|strom|qvist|kvist|dóttir|dottir|ić|vić|ová|ská|wicz|enko|opoulos|ishvili|ashvili|ovich|ovna)$")
# "Kian's address", "Mario's point": a possessive before a personal noun names a person
_PERSONAL_POSSESSION = re.compile(
    r"['’]s[ \t]+(?:address|phone|number|email|e-mail|wife|husband|partner|son|daughter|mother|father|mom|dad|"
    r"brother|sister|friend|boss|manager|colleague|birthday|house|home|account|car|office|desk|team|idea|point|"
    r"question|comment|proposal|slides?|presentation|talk|suggestion|concern|name)\b", re.IGNORECASE)
_PARTICLES = {"van", "von", "de", "der", "den", "del", "della", "di", "da", "dos", "du", "le", "la", "bin", "ibn",
              "al", "el", "ter", "ten", "op"}
_GEO_LABELS = {"GPE", "LOC", "FAC", "NORP", "LOCATION", "NRP"}
_NAME_LINE = re.compile(r"(?m)^[ \t>?*•\-]*(?P<name>[^\W\d_][^\W\d_'’\-]+(?:[ \t]+[^\W\d_][^\W\d_'’\-]+){1,3})[ \t]*$")
_JOINERS = {"and", "&", ",", "or"}
_PERSONISH_LABELS = {"PERSON", "PER"}
_PLACE_LABELS = {"ORG", "GPE", "NORP", "FAC", "LOC", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "LANGUAGE"}
_NOT_NAME_WORDS = {"street", "st", "road", "rd", "avenue", "ave", "lane", "drive", "way", "court", "place",
                   "boulevard", "square", "apt", "suite", "unit", "inc", "ltd", "llc", "corp", "company",
                   "university", "college", "school", "hospital", "bank", "group", "committee", "council",
                   "i", "i'm", "i'd", "i'll", "i've", "ok", "okay", "yes", "no", "mr", "mrs", "ms", "dr"}


class PersonNameRecognizer(LocalRecognizer):
    """List-, cue- and coordination-based PERSON recognizer."""

    ENTITY = "PERSON"

    def __init__(self, supported_language: str = "en", single_name_score: float = 0.6,
                 full_name_score: float = 0.75, cue_score: float = 0.75, surname_score: float = 0.55,
                 unknown_word_score: float = 0.55):
        self.unknown_word_score = unknown_word_score
        self.single_name_score = single_name_score
        self.full_name_score = full_name_score
        self.cue_score = cue_score
        self.surname_score = surname_score
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         name="PersonNameRecognizer")

    def load(self) -> None:  # noqa: D102
        self.given, self.surnames = name_lists()
        self.all_surnames = raw_surnames()
        self.common = common_words()
        self.lexicon = english_words()

    def _unknown_proper_noun(self, word: str, key: str) -> bool:
        """A capitalised word that is not an English word, a list name or an acronym."""
        if len(word) < 3 or not word[0].isupper() or word.isupper() or not any(c.islower() for c in word[1:]):
            return False
        if any(c.isupper() for c in word[1:]) and "-" not in word:
            return False                    # camel case: product names (DevNet, iPhone)
        base = key[:-2] if key.endswith(("'s", "’s")) else key
        if "-" in base and all(len(p) <= 3 or p in self.lexicon for p in base.split("-")):
            return False                    # "Mm-hmm", "Follow-up"
        return (base not in self.lexicon and base not in self.common and base not in _NOT_NAME_WORDS
                and base.rstrip("s") not in self.lexicon and base + "s" not in self.lexicon)

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        caseless = not _CAPITALISED.search(text)
        words = [(m.start(), m.end(), m.group(0).rstrip(".")) for m in _WORD.finditer(text)]
        if not words:
            return []
        keys = [w[2].casefold() for w in words]

        def cap(i: int) -> bool:
            word = words[i][2]
            return (caseless or word[0].isupper()) and not (len(word) > 1 and word.isupper() and not caseless)

        def plain(i: int) -> bool:
            return keys[i] in self.common or keys[i] in _NOT_NAME_WORDS

        def adjacent(i: int) -> bool:          # word i follows word i-1 after exactly one space
            return text[words[i - 1][1]:words[i][0]] == " "

        ner_person: Set[int] = set()
        placeish: Set[int] = set()
        ents = list(nlp_artifacts.tokens.ents) if nlp_artifacts is not None and nlp_artifacts.tokens is not None else []
        starts = [w[0] for w in words]
        found: List[Tuple[int, int, float]] = []
        for ent in ents:
            idx = [i for i, s in enumerate(starts) if ent.start_char <= s < ent.end_char]
            if not idx:
                continue
            if ent.label_ in _PERSONISH_LABELS:
                ner_person.update(idx)
            elif ent.label_ in _PLACE_LABELS:
                # places, and multi-word organisations ("the Welsh Government"), are not names;
                # a single capitalised word typed ORG/PRODUCT/WORK_OF_ART often is one
                if ent.label_ in _GEO_LABELS or len(idx) > 1:
                    placeish.update(idx)
                if len(idx) <= 3 and keys[idx[0]] in self.given and not plain(idx[0]) and all(cap(i) for i in idx):
                    found.append((idx[0], idx[-1] + 1, self.single_name_score))

        n = len(words)
        i = 0
        while i < n:
            prefix = text[max(0, words[i][0] - 24):words[i][0]]
            cue = _CUE.search(prefix)
            if cue and not plain(i) and (cap(i) or keys[i] in self.given or _STRONG_CUE.search(prefix)):
                j = i + 1
                if j < n and adjacent(j) and (cap(j) == cap(i)) and keys[j] not in _NOT_NAME_WORDS \
                        and (not plain(j) or keys[j] in self.all_surnames) and (cap(j) or keys[j] in self.all_surnames):
                    j += 1
                found.append((i, j, self.cue_score))
                i = j
                continue
            if cap(i) and keys[i] in self.given and not plain(i):
                j = i + 1
                while j < n and j - i < 4 and adjacent(j):
                    if keys[j] in _PARTICLES and not caseless:
                        k = j
                        while k < n and keys[k] in _PARTICLES and adjacent(k):
                            k += 1
                        if k < n and k - j <= 2 and adjacent(k) and cap(k) and not plain(k):
                            j = k
                            continue
                        break
                    if not (cap(j) and keys[j] not in _NOT_NAME_WORDS and (not plain(j) or keys[j] in self.all_surnames)):
                        break
                    j += 1
                found.append((i, j, self.full_name_score if j - i > 1 else self.single_name_score))
                i = j
                continue
            sentence_start = i == 0 or text[words[i - 1][1]:words[i][0]].strip()[-1:] in (".", "!", "?", ":", '"', "\n")
            strong = bool(_STRONG_SURNAME_SHAPE.search(keys[i]))
            if cap(i) and not caseless and not plain(i) and (i not in placeish or strong) and len(keys[i]) > 2 \
                    and (not sentence_start or strong) \
                    and (keys[i] in self.surnames or _SURNAME_SHAPE.search(keys[i])):
                found.append((i, i + 1, self.surname_score))
            elif cap(i) and not plain(i) and not caseless and _PERSONAL_POSSESSION.match(text, words[i][1]) \
                    and (len(words) == 1 or words[i][2].lower() not in self.lexicon):
                found.append((i, i + 1, self.single_name_score))
            elif self._unknown_proper_noun(words[i][2], keys[i]) and i not in placeish and i not in ner_person \
                    and not caseless and text[words[i][1]:words[i][1] + 2] not in ("'t", "’t"):
                found.append((i, i + 1, self.unknown_word_score))
            i += 1

        # a line that is only two to four capitalised non-words: a name line ("Anton Perera")
        for line in _NAME_LINE.finditer(text):
            parts = line.group("name").split()
            if all(self._unknown_proper_noun(w, w.casefold()) or w.casefold() in self.given
                   or w.casefold() in self.all_surnames for w in parts) \
                    and any(self._unknown_proper_noun(w, w.casefold()) or w.casefold() in self.given for w in parts):
                first = next(k for k, w in enumerate(words) if w[0] >= line.start("name"))
                found.append((first, first + len(parts), self.single_name_score))

        anchors: Set[int] = set(ner_person)
        for start, end, _ in found:
            anchors.update(range(start, end))
        # coordination: "Árias and Merritt", "Schulz, Strickland and Matthews" (chains propagate)
        for _ in range(4):
            added = False
            for i in range(n):
                if i in anchors or not cap(i) or plain(i):
                    continue
                gap_left = text[words[i - 1][1]:words[i][0]].strip() if i else ""
                gap_right = text[words[i][1]:words[i + 1][0]].strip() if i + 1 < n else ""
                left = i >= 1 and (gap_left == "," and i - 1 in anchors
                                   or i >= 2 and keys[i - 1] in _JOINERS and i - 2 in anchors)
                right = i + 1 < n and (gap_right == "," and i + 1 in anchors
                                       or i + 2 < n and keys[i + 1] in _JOINERS and i + 2 in anchors)
                if left or right:
                    found.append((i, i + 1, self.single_name_score))
                    anchors.add(i)
                    added = True
            if not added:
                break

        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return [RecognizerResult(self.ENTITY, words[s][0], words[e - 1][0] + len(words[e - 1][2]), score,
                                 recognition_metadata=dict(metadata))
                for s, e, score in found]
