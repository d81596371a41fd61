"""WebVTT (Zoom and spec features), SRT and SBV parsing."""
import codecs

import pytest

from transforms.parsers import srt, sbv, webvtt
from transforms.parsers.base import ArtifactRejected, ParseContext
from transforms.records import DeadLetterReason, Participant

ROSTER = (Participant("p-mk", "Mikhail Kalinin"), Participant("p-b", "Barnabas Busa", handles=("barnabas",)))
CTX = ParseContext(kind="transcript", filename="transcript.vtt", roster=ROSTER)

ZOOM_VTT = (
    "WEBVTT\r\n\r\n"
    "1\r\n00:00:29.820 --> 00:00:31.210\r\nMikhail Kalinin: Hey, Barnabas.\r\n\r\n"
    "2\r\n00:00:38.530 --> 00:00:41.960\r\nbarnabas: Struggling with EPBS. That's probably everybody else.\r\n\r\n"
    "3\r\n01:02:03.004 --> 01:02:05.000\r\nLeo Alt [powdr]: Yeah, I think just the… Hmm…\r\n\r\n"
    "4\r\n01:02:06.000 --> 01:02:07.000\r\nno speaker prefix here\r\n"
).encode("utf-8")


def _reject(module, payload, ctx=CTX):
    with pytest.raises(ArtifactRejected) as caught:
        module.parse(payload, ctx)
    return caught.value.reason


def test_zoom_vtt_cues_speakers_and_times():
    doc = webvtt.parse(ZOOM_VTT, CTX)
    assert doc.source_format == "webvtt"
    assert [(s.speaker_label, s.participant_id, s.start_ms, s.end_ms) for s in doc.segments] == [
        ("Mikhail Kalinin", "p-mk", 29820, 31210),
        ("barnabas", "p-b", 38530, 41960),
        ("Leo Alt [powdr]", None, 3723004, 3725000),
        (None, None, 3726000, 3727000),
    ]
    assert doc.segments[0].text == "Hey, Barnabas."
    assert doc.segments[3].text == "no speaker prefix here"


def test_vtt_bom_header_text_metadata_notes_styles_regions():
    text = (
        "WEBVTT - a title\nKind: captions\nLanguage: en\nStyle:\n::cue(c.x) { color: red;\n}\n##\n\n"
        "NOTE\nsomeone wrote\nthis note\n\n"
        "STYLE\n::cue { color: papayawhip; }\n\n"
        "REGION\nid:fred width:40%\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start position:0% region:fred\n"
        "<v Mikhail Kalinin>Hello <b>there</b> <i>all</i> &amp; <c.yellow>you</c>\n"
        "second <00:00:02.000>line</v>\n\n"
        "NOTE This last line may not translate well.\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v.loud Anon Person>shout\n"
    )
    doc = webvtt.parse(codecs.BOM_UTF8 + text.encode("utf-8"), CTX)
    assert [s.text for s in doc.segments] == ["Hello there all & you\nsecond line", "shout"]
    assert doc.segments[0].speaker_label == "Mikhail Kalinin" and doc.segments[0].participant_id == "p-mk"
    assert (doc.segments[0].start_ms, doc.segments[0].end_ms) == (1000, 2500)
    assert doc.segments[1].speaker_label == "Anon Person"


def test_vtt_invalid_cues_are_skipped_but_valid_ones_kept():
    text = (
        "WEBVTT\n\n00:00:00.500 --> 00:00:07.000\nCaption one\n\n"
        "00:00:07.000 --> 00:00:1d.890\nBad timing\n\n"
        "Caption without timing\n\n"
        "00:00:07.000 --> 00:00:10.890\n00:00:07.000 --> 00:00:10.890\nAfter duplicate timing\n\n"
        "00:00:11.000 --> 00:00:12.000\n\n"
        "00:00:12.000 --> 00:00:13.000\nyeah\n<c.colorCCCCCC>what</c>\n"
        "00:00:13.000 --> 00:00:14.000\ndirectly after\n"
    )
    result = webvtt.parse_cues(text)
    assert [c.text for c in result.cues] == ["Caption one", "After duplicate timing", "yeah\nwhat", "directly after"]
    assert result.invalid_cues == 2 and result.timing_lines == 7


def test_vtt_end_before_start_keeps_text_without_end():
    doc = webvtt.parse(b"WEBVTT\n\n00:00:05.000 --> 00:00:04.000\nBackwards\n", CTX)
    assert (doc.segments[0].start_ms, doc.segments[0].end_ms) == (5000, None)


@pytest.mark.parametrize("payload,reason", [
    (b"00:00:00.500 --> 00:00:07.000\nno header\n", DeadLetterReason.WRONG_FORMAT),
    (b"WEBVTTX\n\n00:00:00.500 --> 00:00:07.000\nx\n", DeadLetterReason.WRONG_FORMAT),
    (b"\n\nWEBVTT\n\n00:00:00.500 --> 00:00:07.000\nx\n", DeadLetterReason.WRONG_FORMAT),
    (b"WEBVTT", DeadLetterReason.EMPTY),
    (b"WEBVTT\n\nNOTE only a note\n", DeadLetterReason.EMPTY),
    (b"WEBVTT\n\n00:00:00.500 --> 00:00:07.000\n\n", DeadLetterReason.EMPTY),
    (b"WEBVTT\n\n00:00:0x.500 --> 00:00:07.000\nx\n", DeadLetterReason.MALFORMED),
    (b"WEBVTT\n\njust some text\n", DeadLetterReason.MALFORMED),
    (b"", DeadLetterReason.EMPTY),
])
def test_vtt_reason_codes(payload, reason):
    assert _reject(webvtt, payload) is reason


def test_vtt_utf16_and_cp1252():
    text = "WEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\nJosé Müller: olá\r\n"
    doc = webvtt.parse(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), CTX)
    assert doc.segments[0].speaker_label == "José Müller" and doc.encoding == "utf-16-le"
    doc = webvtt.parse(text.encode("cp1252"), CTX)
    assert doc.encoding_fallback and doc.segments[0].text == "olá"


SRT = (
    "1\r\n00:00:00,500 --> 00:00:07,000\r\nMikhail Kalinin: Caption text #1\r\n\r\n"
    "2\r\n00:00:07,000 --> 00:00:11.890\r\nBad separator\r\n\r\n"
    "3\r\nCaption without timing\r\n\r\n"
    "4\r\n00:00:11,890 --> 00:00:16,320\r\nLine one\r\nLine <i>two</i>\r\n\r\n"
    "5\r\n00:00:16,320 --> 00:00:21,580\r\n\r\n"
).encode("utf-8")


def test_srt():
    result = srt.parse_cues(SRT.decode().replace("\r\n", "\n"))
    assert result.invalid_cues == 2 and result.empty_cues == 1
    doc = srt.parse(SRT, CTX)
    assert doc.source_format == "srt"
    assert [(s.text, s.start_ms, s.end_ms, s.participant_id) for s in doc.segments] == [
        ("Caption text #1", 500, 7000, "p-mk"),
        ("Line one\nLine two", 11890, 16320, None),
    ]


@pytest.mark.parametrize("payload,reason", [
    (b"1", DeadLetterReason.MALFORMED),
    (b"some text", DeadLetterReason.MALFORMED),
    (b"1\nsome text", DeadLetterReason.MALFORMED),
    (b"some text\n00:00:00,500 --> 00:00:07,000", DeadLetterReason.MALFORMED),
    (b"WEBVTT\n\n00:00:00.500 --> 00:00:07.000\nx\n", DeadLetterReason.WRONG_FORMAT),
    (b"1\n00:00:00,500 --> 00:00:07,000\n\n", DeadLetterReason.EMPTY),
])
def test_srt_reason_codes(payload, reason):
    assert _reject(srt, payload) is reason


SBV = (
    "0:00:00.378,0:00:11.378\nCaption text #1\n\n"
    "0:00:13.f89,0:00:15.489\nBad timing\n\n"
    "Caption without timing\n\n"
    "0:00:13.489,0:00:15.489\nMikhail Kalinin: line 1\nline 2\n\n"
    "0:00:17.484,0:00:16.543\nBackwards\n"
)


def test_sbv():
    doc = sbv.parse(SBV.encode(), CTX)
    assert doc.source_format == "sbv"
    assert [(s.text, s.start_ms, s.end_ms, s.speaker_label) for s in doc.segments] == [
        ("Caption text #1", 378, 11378, None),
        ("line 1\nline 2", 13489, 15489, "Mikhail Kalinin"),
        ("Backwards", 17484, None, None),
    ]
    assert sbv.parse_cues(SBV).invalid_cues == 2
    assert _reject(sbv, b"some text") is DeadLetterReason.MALFORMED
    assert _reject(sbv, b"WEBVTT\n\n") is DeadLetterReason.WRONG_FORMAT
