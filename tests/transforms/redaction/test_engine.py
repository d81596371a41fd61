import re

from tests.transforms.redaction.conftest import ALICE, BOB, OTHER_KEY, ROSTER
from transforms.records import Participant
from transforms.redaction.engine import RedactionEngine, RedactionRequest
from transforms.redaction.residual import PSEUDONYM_PATTERN, is_redaction_token, residual_scan

CANARIES = {
    "name": "Henrietta Vandermeer",
    "email": "h.vandermeer@contoso-mail.com",
    "phone": "(415) 555-0172",
    "card": "4929-3813-3266-4295",
    "ssn": "284-89-3485",
    "iban": "GB82WEST12345698765432",
    "ip": "192.168.14.201",
    "address": "1467 Hastings Street",
    "zoom": "https://us02web.zoom.us/j/84512345678?pwd=QWxhZGRpbjpvcGVuIHNlc2FtZQ",
}
CANARY_TEXT = (
    f"Thanks everyone. This is {CANARIES['name']} speaking; write to {CANARIES['email']} "
    f"or call {CANARIES['phone']}. My card {CANARIES['card']} and SSN {CANARIES['ssn']} leaked, "
    f"the refund goes to IBAN {CANARIES['iban']}. The server is at {CANARIES['ip']}. "
    f"Ship it to {CANARIES['address']}, Springfield, MA 02351. "
    f"Join again at {CANARIES['zoom']} tomorrow."
)


def test_planted_canaries_are_absent_from_output(engine):
    result = engine.redact_batch([RedactionRequest(CANARY_TEXT, "m1", ROSTER)])[0]
    for kind, value in CANARIES.items():
        assert value not in result.text, kind
    assert "pwd=" not in result.text
    assert "Springfield" not in result.text and "02351" not in result.text
    assert residual_scan(result.text) == ()
    counts = dict(result.entity_counts)
    for entity in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
                   "IP_ADDRESS", "STREET_ADDRESS", "MEETING_URL"):
        assert counts.get(entity, 0) >= 1, entity
    # the text around the findings survives
    assert result.text.startswith("Thanks everyone. This is <PERSON_")
    assert "tomorrow." in result.text


def test_entities_are_offsets_into_the_input(engine):
    result = engine.redact_batch([RedactionRequest(CANARY_TEXT)])[0]
    spans = {CANARY_TEXT[e.start:e.end] for e in result.entities}
    assert CANARIES["email"] in spans
    assert CANARIES["card"] in spans
    starts = [e.start for e in result.entities]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(result.entities, result.entities[1:]))


def test_roster_mentions_share_the_speaker_token(engine):
    texts = [
        "Alice Johnson opened the call.",
        "alice, can you share your screen?",
        "I agree with Johnson's point.",
        "ALICE JOHNSON said write to alice.johnson@example.org or ping @alicej",
        "Bob's numbers look right, thanks bob",
    ]
    results = engine.redact_batch([RedactionRequest(t, "m1", ROSTER) for t in texts])
    alice_token = engine.participant_pseudonym("m1", ALICE, "Alice J.")
    bob_token = engine.participant_pseudonym("m1", BOB, None)
    assert PSEUDONYM_PATTERN.fullmatch(alice_token) and alice_token != bob_token
    assert results[0].text == f"{alice_token} opened the call."
    assert results[1].text == f"{alice_token}, can you share your screen?"
    assert results[2].text == f"I agree with {alice_token}'s point."
    assert results[3].text.count(alice_token) == 3 and "alice" not in results[3].text.lower()
    assert results[4].text == f"{bob_token}'s numbers look right, thanks {bob_token}"


def test_roster_matches_respect_word_boundaries(engine):
    roster = (Participant("p1", "Al Bundy"), Participant("p2", "Ann Lee"))
    result = engine.redact_batch([RedactionRequest("Annual totals and Albany; Ann agreed.", "m", roster)])[0]
    assert "Annual totals and Albany" in result.text
    assert "Ann agreed" not in result.text


def test_unknown_speaker_label_gets_a_label_pseudonym(engine):
    token = engine.participant_pseudonym("m1", None, "Dr. Zed")
    assert token == engine.participant_pseudonym("m1", None, "dr. zed")
    assert engine.participant_pseudonym("m1", None, None) is None
    assert engine.participant_pseudonym("m1", None, "  ") is None


def test_different_keys_give_different_tokens(engine):
    other = RedactionEngine.load(None, OTHER_KEY, "dataset")
    assert engine.participant_pseudonym("m1", ALICE, None) != other.participant_pseudonym("m1", ALICE, None)
    a = engine.redact_batch([RedactionRequest("mail h.v@contoso-mail.com")])[0].text
    b = other.redact_batch([RedactionRequest("mail h.v@contoso-mail.com")])[0].text
    assert a != b and is_redaction_token(a.split()[-1]) and is_redaction_token(b.split()[-1])


def test_dataset_scope_links_meetings_and_meeting_scope_does_not(engine, meeting_engine):
    text = "Please email h.v@contoso-mail.com today."
    same = engine.redact_batch([RedactionRequest(text, "m1"), RedactionRequest(text, "m2")])
    assert same[0].text == same[1].text
    assert engine.participant_pseudonym("m1", ALICE, None) == engine.participant_pseudonym("m2", ALICE, None)
    apart = meeting_engine.redact_batch([RedactionRequest(text, "m1"), RedactionRequest(text, "m2"),
                                         RedactionRequest(text, "m1")])
    assert apart[0].text != apart[1].text and apart[0].text == apart[2].text
    assert meeting_engine.participant_pseudonym("m1", ALICE, None) != meeting_engine.participant_pseudonym("m2", ALICE, None)


def test_pseudonyms_are_keyed_not_plain_hashes(engine):
    import hashlib
    token = engine.participant_pseudonym("m1", ALICE, None)
    digest = token.rsplit("_", 1)[1].rstrip(">")
    for plain in ("alice johnson", "PERSONalice johnson", "Alice Johnson"):
        assert not hashlib.sha256(plain.encode()).hexdigest().startswith(digest)


def test_texts_without_letters_and_empty_texts(engine):
    results = engine.redact_batch([RedactionRequest(""), RedactionRequest("   "),
                                   RedactionRequest("4929 3813 3266 4295"), RedactionRequest("12:30")])
    assert results[0].text == "" and results[0].entities == ()
    assert results[1].text == "   "
    assert "4929" not in results[2].text
    assert results[3].text == "12:30"


def test_long_text_is_chunked_with_correct_offsets(engine):
    filler = "We reviewed the quarterly plan and agreed on next steps. " * 2000
    text = filler + "Contact h.vandermeer@contoso-mail.com for details."
    assert len(text) > engine.config.nlp.max_chars
    result = engine.redact_batch([RedactionRequest(text)])[0]
    assert "h.vandermeer@contoso-mail.com" not in result.text
    emails = [e for e in result.entities if e.entity_type == "EMAIL_ADDRESS"]
    assert [text[e.start:e.end] for e in emails] == ["h.vandermeer@contoso-mail.com"]


def test_meeting_text_without_pii_is_left_alone(engine):
    texts = [
        "So the remote control should have a big button for channel up and down.",
        "We met in 2019-2020 and again on 2021-03-04; about 1,500,000 units at 3.14159 each.",
        "Section 3 of chapter 12 covers item 4 and item 5.",
        "The committee will now take evidence on the Bill.",
        "Thank you, Mr. Chair. Minister, over to you.",
        "Yeah, right. Oh, and the ETH amount doesn't change.",
    ]
    for text, result in zip(texts, engine.redact_batch([RedactionRequest(t) for t in texts])):
        assert result.text == text, result.entity_counts


def test_pseudonym_pattern_rejects_other_text():
    assert is_redaction_token("<PERSON_7f3a9c21>")
    assert is_redaction_token("<CREDIT_CARD>")
    assert not is_redaction_token("<person_7f3a9c21>")
    assert not is_redaction_token("PERSON_7f3a9c21")
    assert not re.fullmatch(PSEUDONYM_PATTERN, "<PERSON_xyz>")
