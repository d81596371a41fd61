"""Street addresses: US and common international forms, including multi-line blocks.

Cores are found with regexes (house number + street + type, street-type suffixes such
as ``-straße``/``-vej``/``-gatan``, Romance prefixes such as ``rue``/``via``/``rua``,
PO boxes, military addresses, unit designators, postcodes with context). Each core is
then extended over the address lines that follow it (unit, city, region, country,
postcode), separated by commas or line breaks, as long as they look like address
lines (short, capitalised or numeric, no sentence punctuation).
"""
from __future__ import annotations

import re
from typing import List, Tuple

from presidio_analyzer import LocalRecognizer, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

_W = r"[^\W\d_][\w'’.\-]*"                  # a word starting with a letter
_CAP = r"(?:[A-ZÀ-ÖØ-ÞĀ-ſΑ-ΩΆ-ΏА-Я][\w'’.\-]*)"  # a capitalised word (Latin/Greek/Cyrillic)
_NUM = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_EN_TYPES = (
    r"Street|Str|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Square|Sq|"
    r"Terrace|Ter|Way|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Trl|Crescent|Cres|Close|Grove|Row|"
    r"Walk|Alley|Plaza|Mews|Gardens|Gdns|Loop|Pike|Ridge|Heights|Expressway|Expy|Freeway|Fwy|"
    r"Turnpike|Causeway|Esplanade|Rise|Wharf|Quay|Crossing|Xing|Parade|Promenade|Route|Rte|Center|"
    r"Centre|Hollow|Junction|Jct|Knoll|Landing|Meadows?|Motorway|Estate|Gate|Green|Hill|Park|Point|Pt"
)
_INTL_SUFFIX = (
    r"stra(?:ß|ss)e|straat|straße|strasse|str\.|weg|gasse|platz|allee|damm|ring|ufer|markt|steig|pfad|"
    r"chaussee|vej|veien|vegen|vei|vn\.|gade|gata|gatan|vägen|väg|gränd|stræde|torv|laan|baan|dreef|"
    r"plein|kade|gracht|singel|tie|katu|kuja|polku|utca|ulica|út|tér|sokak|sokağı|caddesi|cd\.|bulvarı"
)
_ROMANCE_PREFIX = (
    r"rue|avenue|av\.|avenida|avda\.?|boulevard|bd|chemin|impasse|quai|allée|place|via|viale|piazza|"
    r"corso|largo|vicolo|calle|c/|carrer|paseo|plaza|camino|carretera|ronda|rua|r\.?|travessa|tv\.|"
    r"estrada|praça|rodovia|alameda|ulica|ul\.|aleja|al\.|ulitsa|strada|str\.|jalan|jl\.|odos|οδός"
)
_UNIT = r"(?:Apt\.?|APT\.?|apt\.|Apartment|Suite|SUITE|suite|Ste\.|Unit|UNIT|Flat|Fl\.|Floor|Bldg\.?|Building)[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?\b"

_CORE_PATTERNS: Tuple[Tuple[str, float], ...] = (
    # 12 Main Street / 1467 N. Hastings St. / 17 1467 Hastings Street
    (rf"\b(?:\d{{1,5}}[ \t]+)?{_NUM}[ \t]+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?[ \t]+)?"
     rf"(?:(?:{_CAP}|\d{{1,3}}(?:st|nd|rd|th))[ \t]+){{0,4}}(?:{_EN_TYPES})\b\.?", 0.75),
    # 19 rue La Boétie / 56 ul. Karpacka 69 / 71 estrada nacional 105
    (rf"\b(?:\d{{1,5}}[ \t]+)?{_NUM}[ \t]+(?i:{_ROMANCE_PREFIX})[ \t]+(?:(?:de|da|do|dos|das|del|della|di|du|des|la|le|les|el|al)[ \t]+){{0,2}}"
     rf"{_W}(?:[ \t]+{_W}){{0,3}}(?:[ \t]+{_NUM})?", 0.7),
    # Auerstrasse 84 / 64 Schaarsteinweg 97 / Holmevej 34
    (rf"(?:\b\d{{1,5}}[ \t]+)?(?:{_CAP}[ \t]+){{0,2}}[^\W\d_]*(?i:{_INTL_SUFFIX})[ \t]+{_NUM}\b", 0.7),
    # PO boxes and military addresses
    (r"\b(?:P\.?[ \t]?O\.?[ \t]?Box|Post[ \t]Office[ \t]Box|Postfach|Apartado)[ \t]+\d{1,6}\b", 0.75),
    (r"\b(?:Unit|PSC)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{3,5}\b", 0.8),
    (rf"\b(?:USNS|USNV|USS|USCGC)[ \t]+{_CAP}", 0.7),
    (r"\b(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}\b", 0.8),
    # 28 Slovenčeva 46 / 76 Boriñaur enparantza 29 (house number, street words, number):
    # accepted only when address lines follow (comma/line break) or an address cue precedes
    (rf"\b\d{{1,5}}[ \t]+{_W}(?:[ \t]+{_W}){{0,3}}[ \t]+\d{{1,5}}[A-Za-z]?\b(?![.,]\d)", 0.5),
    # Rua Soldado Joaquim Xavier 1471 / Via Scala 50 / ul. Paderewskiego 85 (prefix, name, number)
    (rf"\b(?:Rue|Avenue|Avenida|Boulevard|Chemin|Impasse|Quai|Allée|Via|Viale|Piazza|Corso|Largo|Calle|Carrer|"
     rf"Paseo|Plaza|Camino|Rua|Travessa|Estrada|Praça|Alameda|Ulica|ul\.|Aleja|al\.|Strada|Jalan)[ \t]+"
     rf"(?:{_CAP}|[a-zà-ÿ]{{1,5}}\.?)(?:[ \t]+(?:{_CAP}|[a-zà-ÿ]{{1,5}}\.?)){{0,4}}[ \t]+{_NUM}\b", 0.65),
    # Gammelhavn 36 / Grote Baan 477 (street name, number): needs two address lines or a cue
    (rf"\b{_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+\d{{1,5}}[A-Za-z]?\b(?![.,:]\d)", 0.45),
    # a named street without a number: Almeida Street
    (rf"\b{_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+(?:Street|Avenue|Road|Boulevard|Lane)\b", 0.6),
    # Apt. 441 / Suite 992
    (_UNIT, 0.6),
)
_UNIT_START = re.compile(_UNIT, re.IGNORECASE)
_CORES = tuple((re.compile(p), s) for p, s in _CORE_PATTERNS)
_CORES_CASELESS = tuple((re.compile(p, re.IGNORECASE), s) for p, s in _CORE_PATTERNS)

_LEAD_IN = re.compile(
    rf"(?:^|(?<=[\n:>])|(?<=\bat[ \t])|(?<=\bto[ \t])|(?<=\bis[ \t])|(?<=\bin[ \t])|(?<=\bon[ \t])|(?<=\bwith[ \t]))[ \t]*(?P<lead>(?:{_CAP}[ \t]+){{1,2}})$")
_CORNER = re.compile(r"(?i)\b(?:the[ \t]+)?corner(?:[ \t]+of)?[ \t]+$")
_NUMBER_LEAD = re.compile(r"(?:^|(?<=[\n>:]))[ \t]*(?P<lead>\d{1,5}[ \t]+)$")
_JOIN = re.compile(r"[ \t]+(?:and|&)[ \t]+$")
_CROSS_STREET = re.compile(rf"\b{_CAP}[ \t]+(?:and|&)[ \t]+$")   # "Main and 5th Street" intersections
_CONTEXT = re.compile(
    r"(?i)\b(?:address(?:es)?|live[sd]?|living|reside[sd]?|located|locate|send|sent|ship(?:ped)?|deliver(?:ed)?|"
    r"mail(?:ed)?|office|taxi|visit|moved?|billing|headquarters|hq|zip|postal|post[ ]?code|street)\b[^.\n]{0,12}$")
_ZIP_CONTEXT = re.compile(r"(?i)\b(?:zip|postal|post)[ \t]?(?:code)?(?:[ \t]+is)?[ \t]*:?[ \t]*(?P<value>\d{4,5}(?:-\d{4})?)\b")
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b")

# one following address line: ", Springfield" / "\n Apt. 118" / "\n Cameroon 60647" / ", MA 02351"
_NEXT_SEGMENT = re.compile(r"(?P<sep>(?:[ \t>?*•]*[,\n]){1,4}[ \t>?*•]*|[ \t]+)(?P<seg>[^\n,;:!?()\"<>]{1,48})")
_PARTICLES = {"the", "de", "da", "do", "dos", "das", "del", "la", "le", "les", "van", "von", "der", "den", "di",
              "du", "des", "y", "et", "nan", "and", "of", "am", "an", "im", "sur"}
_SEG_WORD = re.compile(r"^(?:\d[\w.\-/]*|[^\W\d_][\w'’.\-]*)$")


def _word_ok(word: str, caseless: bool = False) -> bool:
    if not _SEG_WORD.match(word):
        return False
    return caseless or word[0].isdigit() or word[0].isupper() or word.lower().rstrip(".") in _PARTICLES or word.lower() in ("apt.", "suite")


def _segment_prefix(seg: str, space_only: bool, caseless: bool = False) -> Tuple[int, bool]:
    """(length of the address-like prefix of ``seg``, whether all of ``seg`` was address-like)."""
    stripped = seg.strip()
    if not stripped:
        return 0, False
    if space_only and not (re.match(_UNIT, stripped) or re.match(r"\d{4,6}\b", stripped) or stripped[0].isupper() or caseless):
        # on the same line only a unit, a postcode or capitalised place names continue the address
        return 0, False
    tokens = list(re.finditer(r"\S+", seg))
    good = 0
    for i, tok in enumerate(tokens[:7]):
        if not _word_ok(tok.group(0), caseless):
            break
        good = i + 1
    # never end on a particle ("... and"), never start with one
    while good and tokens[good - 1].group(0).lower().rstrip(".") in _PARTICLES - {"nan"}:
        good -= 1
    if not good or tokens[0].group(0).lower().rstrip(".") in _PARTICLES - {"nan"}:
        return 0, False
    end = tokens[good - 1].end()
    text = seg[:end]
    if text.endswith(".") and not re.search(r"(?i)(?:apt|ste|st|ave|rd|no)\.$", text):
        end -= 1
    return end, good == len(tokens)


class StreetAddressRecognizer(LocalRecognizer):
    """Regex + layout recognizer for street addresses (entity ``STREET_ADDRESS``)."""

    ENTITY = "STREET_ADDRESS"

    def __init__(self, supported_language: str = "en", max_extra_lines: int = 5):
        self.max_extra_lines = max_extra_lines
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         name="StreetAddressRecognizer")

    def load(self) -> None:  # noqa: D102
        pass

    def _extend(self, text: str, end: int, caseless: bool = False) -> Tuple[int, int]:
        """New end of an address core, and how many comma/line-separated address lines followed."""
        lines = 0
        for _ in range(self.max_extra_lines):
            m = _NEXT_SEGMENT.match(text, end)
            if not m:
                break
            space_only = "," not in m.group("sep") and "\n" not in m.group("sep")
            seg = m.group("seg")
            # stop the segment at a sentence end (". " + capital or end of text)
            cut = re.search(r"[.](?=\s|$)", seg)
            if cut and not re.search(r"(?i)(?:apt|ste|st|ave|rd|no)$", seg[:cut.start()]):
                seg = seg[:cut.start()]
            length, complete = _segment_prefix(seg, space_only, caseless)
            if not length:
                break
            end = m.start("seg") + length
            # a new line/comma part, or a unit designator on the same line, is address layout
            if not space_only or _UNIT_START.match(seg.strip()):
                lines += 1
            if not complete or length < len(m.group("seg").rstrip()):
                break
        return end, lines

    def _context_before(self, text: str, start: int) -> bool:
        return bool(_CONTEXT.search(text[max(0, start - 40):start]))

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        if not any(ch.isdigit() for ch in text):
            return []
        spans: List[Tuple[int, int, float]] = []
        caseless = not any(ch.isupper() for ch in text)
        for pattern, score in (_CORES_CASELESS if caseless else _CORES):
            for m in pattern.finditer(text):
                start, end = m.start(), m.end()
                if end - start < 3:
                    continue
                if caseless and score < 0.5 and any(w in STOP_WORDS for w in m.group(0).split()):
                    continue        # "my address is 12": in lower-case text only layout tells streets apart
                new_end, lines = self._extend(text, end, caseless)
                needed_lines = 2 if score < 0.5 else 1
                if score < 0.6 and lines < needed_lines and not self._context_before(text, start):
                    continue        # a bare "12 Words 34" needs a following address line or context
                if score < 0.6:
                    score = 0.65
                spans.append((start, new_end, score))
        for m in _ZIP_CONTEXT.finditer(text):
            spans.append((m.start("value"), m.end("value"), 0.8))
        for m in _UK_POSTCODE.finditer(text):
            spans.append((m.start(), m.end(), 0.55))
        spans = self._join_and_lead(text, spans, caseless)
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return [RecognizerResult(self.ENTITY, s, e, sc, recognition_metadata=dict(metadata)) for s, e, sc in spans]

    @staticmethod
    def _join_and_lead(text: str, spans: List[Tuple[int, int, float]], caseless: bool) -> List[Tuple[int, int, float]]:
        """Join "A and B" intersections, take "the corner of" and capitalised lead-in words."""
        out: List[Tuple[int, int, float]] = []
        for start, end, score in sorted(spans):
            if text[start].isdigit() and not caseless:   # lower-case words cannot be told apart
                lead = _LEAD_IN.search(text, max(0, start - 40), start)
                if lead:
                    start = lead.start("lead")
            number = _NUMBER_LEAD.search(text, max(0, start - 12), start)
            if number:                       # "38 124 N. Stadion ...": a leading house number
                start = number.start("lead")
            cross = _CROSS_STREET.search(text, max(0, start - 40), start)
            if cross:
                start = cross.start()
            corner = _CORNER.search(text, max(0, start - 20), start)
            if corner:
                start = corner.start()
            if out and (start <= out[-1][1] or _JOIN.fullmatch(text, out[-1][1], start)):
                prev = out.pop()
                start, end, score = prev[0], max(end, prev[1]), max(score, prev[2])
            out.append((start, end, score))
        return out
