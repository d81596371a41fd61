"""Zoom chat: the tab-separated export (CRLF between messages, LF inside) and the legacy export."""
import pytest

from transforms.parsers import zoom_chat
from transforms.parsers.base import ArtifactRejected, ParseContext
from transforms.records import DeadLetterReason, Participant

ROSTER = (
    Participant("p-mk", "Mikhail Kalinin"),
    Participant("p-rs", "Roberto Saltini"),
    Participant("p-kalo", "Kalo"),
    Participant("p-john", "John Doe"),
    Participant("p-charlie", "Charlie Barlie"),
    Participant("p-terence", "Terence", handles=("prysmaticlabs",)),
)
CTX = ParseContext(kind="chat", filename="chat.txt", roster=ROSTER)

TSV = (
    "00:02:12\tMikhail Kalinin:\thttps://github.com/ethereum/consensus-specs/pull/4747\r\n"
    "00:05:27\tRoberto Saltini:\tWrong reaction! \nI thought that it was a wave emoji :D\r\n"
    "00:18:23\tKalo | Obol:\tReplying to \"is marco cutting out...\"\n\nyes he is\r\n"
    "00:18:30\tMikhail Kalinin:\tReacted to \"is marco cutting out...\" with \U0001F44D\r\n"
    "00:18:31\tMikhail Kalinin:\tReacted to FOCIL headliner sele... with \"\U0001F602\"\r\n"
    "00:18:32\tKalo | Obol:\tRemoved a \U0001F44D reaction from \"is marco cutting out...\"\r\n"
    "00:18:33\tUnknown Guest:\tHeeft gereageerd op \"tmo!\" met \U0001F6F3\ufe0f\r\n"
    "00:18:34\tUnknown Guest:\tHat auf \"Project 5 slide http...\" mit \U0001F64F reagiert\r\n"
    "00:18:35\tUnknown Guest:\tSe ha reaccionado a \"So 350M gas limit?\" con \U0001F602\r\n"
    "00:18:36\tUnknown Guest:\tA r\u00e9agi \u00e0 \"3 mins for the tal...\" avec \U0001F605\r\n"
    "00:18:37\tUnknown Guest:\tReacted to \"line one\nline two\" with 5\ufe0f\u20e3\r\n"
    "00:20:00\tRoberto Saltini:\tReplying to \"to be honest I don't\n\nkind of looks off\"\n\nyeah looks like it\r\n"
    "00:20:01\tRoberto Saltini:\tAntwoord verzenden naar \"It still uses Nick...\"\n\nThe initcode also needs an audit\r\n"
    "00:20:02\tRoberto Saltini:\tR\u00e9pondre \u00e0 \"@Thomas I...\"\n\nYeah exactly\r\n"
    "00:20:03\tRoberto Saltini:\tReacted to the news with joy\r\n"
    "01:02:03\tterence(prysmaticlabs):\tgm\r\n"
)


def test_tsv_messages_replies_and_reactions():
    result = zoom_chat.parse_messages(TSV)
    assert result.source_format == "zoom_chat_tsv"
    assert len(result.messages) == 16
    assert result.reactions == 8
    texts = [m.text for m in result.text_messages]
    assert texts == [
        "https://github.com/ethereum/consensus-specs/pull/4747",
        "Wrong reaction!\nI thought that it was a wave emoji :D",
        "yes he is",
        "yeah looks like it",
        "The initcode also needs an audit",
        "Yeah exactly",
        "Reacted to the news with joy",
        "gm",
    ]


def test_tsv_document_segments():
    doc = zoom_chat.parse(TSV.encode("utf-8"), CTX)
    assert doc.source_format == "zoom_chat_tsv"
    assert [(s.speaker_label, s.participant_id, s.start_ms) for s in doc.segments][:3] == [
        ("Mikhail Kalinin", "p-mk", 132000),
        ("Roberto Saltini", "p-rs", 327000),
        ("Kalo | Obol", "p-kalo", 1103000),
    ]
    assert doc.segments[-1].participant_id == "p-terence" and doc.segments[-1].start_ms == 3723000
    assert not any(s.direct_message for s in doc.segments)


def test_tsv_without_crlf_splits_on_message_starts():
    text = "00:00:01\tAnn:\thello\n00:00:02\tBob:\tfirst line\nsecond line\n"
    result = zoom_chat.parse_messages(text)
    assert [(m.sender, m.text) for m in result.messages] == [("Ann", "hello"), ("Bob", "first line\nsecond line")]


LEGACY = (
    "10:01:00 From  John Doe  to  Everyone: \n  Good morning folks\n"
    "10:01:10 From  Alice Balice  to  Everyone: \n  Replying to \"Good morning folks\" Hi John\n"
    "10:02:10 From  Diane Smith  to  Everyone: \n  Replying to \"Hello world, this me...\" Hello there, Jack!\n"
    "10:03:00 From  John Doe to Open Mike(Direct Message):\n  Please mute\n"
    "10:03:30 From  John Doe  to  Open Mike (Direct Message) : \n  second DM\n"
    "10:03:40 From  Charlie Barlie (she/her)  to  Open Mike(privately) : \n  private\n"
    "10:04:06 From  Charlie Barlie (she/her)  to  Everyone: \n  Reacted to \"Good morning folks\" with \U0001F44B\n"
    "10:04:07 From  Alice Balice  to  Everyone: \n  Removed a \U0001F36A reaction from \"Good morning folks\"\n"
    "10:05:00 From Marius Van Der Wijden (M) to Everyone: same line text\n"
    "10:06:00 From  terence(prysmaticlabs)  to  Everyone: gm\n\n"
    "10:07:00 From  Moody   to  Everyone:\n\tline one\n\tline two\n"
)


def test_legacy_export():
    result = zoom_chat.parse_messages(LEGACY)
    assert result.source_format == "zoom_chat_legacy"
    assert len(result.messages) == 11
    assert result.reactions == 2 and result.direct_messages == 3
    assert [(m.sender, m.recipient, m.direct_message, m.text) for m in result.text_messages] == [
        ("John Doe", "Everyone", False, "Good morning folks"),
        ("Alice Balice", "Everyone", False, "Hi John"),
        ("Diane Smith", "Everyone", False, "Hello there, Jack!"),
        ("John Doe", "Open Mike", True, "Please mute"),
        ("John Doe", "Open Mike", True, "second DM"),
        ("Charlie Barlie (she/her)", "Open Mike", True, "private"),
        ("Marius Van Der Wijden (M)", "Everyone", False, "same line text"),
        ("terence(prysmaticlabs)", "Everyone", False, "gm"),
        ("Moody", "Everyone", False, "line one\nline two"),
    ]
    assert result.messages[0].start_ms == 36060000


def test_legacy_document_flags_direct_messages_and_matches_roster():
    doc = zoom_chat.parse(LEGACY.encode("utf-8"), CTX)
    assert doc.source_format == "zoom_chat_legacy"
    assert len(doc.segments) == 9
    dms = [s for s in doc.segments if s.direct_message]
    assert len(dms) == 3 and dms[0].participant_id == "p-john" and dms[2].participant_id == "p-charlie"


def test_legacy_without_recipient():
    result = zoom_chat.parse_messages("00:01:02 From  Alice : hello there\n")
    assert [(m.sender, m.recipient, m.text) for m in result.messages] == [("Alice", None, "hello there")]


@pytest.mark.parametrize("payload,reason", [
    (b"just some text\nwithout any chat lines\n", DeadLetterReason.MALFORMED),
    (b"00:18:30\tA:\tReacted to \"x\" with \xf0\x9f\x91\x8d\r\n", DeadLetterReason.EMPTY),
    (b"\r\n\r\n", DeadLetterReason.EMPTY),
])
def test_reason_codes(payload, reason):
    with pytest.raises(ArtifactRejected) as caught:
        zoom_chat.parse(payload, CTX)
    assert caught.value.reason is reason


def test_classify_helpers():
    assert zoom_chat.is_reaction("Reacted to \"x\" with :heart:")
    assert not zoom_chat.is_reaction("Reacted to \"x\" with enthusiasm")
    assert zoom_chat.strip_reply_quote("Replying to \"abc\"\n\nreply") == "reply"
    assert zoom_chat.strip_reply_quote("not a reply") == "not a reply"
    assert zoom_chat.split_sender("Ann to Bob(Direct Message)") == ("Ann", "Bob", True)
    assert zoom_chat.split_sender("Kalo | Obol") == ("Kalo | Obol", None, False)


def test_tsv_direct_message_sender_and_preamble():
    text = ("Saved chat\r\n"
            "00:00:01\tAnn Lee to John Doe (Direct Message):\tsee you\r\n"
            "00:00:02\tJohn Doe:\tpublic\r\n")
    doc = zoom_chat.parse(text.encode(), CTX)
    assert [(s.speaker_label, s.participant_id, s.direct_message, s.text) for s in doc.segments] == [
        ("Ann Lee", None, True, "see you"), ("John Doe", "p-john", False, "public")]
