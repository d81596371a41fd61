"""scripts/parse_coverage.py on a tiny data folder laid out like the shared one."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "parse_coverage.py"


@pytest.fixture(scope="module")
def coverage():
    spec = importlib.util.spec_from_file_location("parse_coverage_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses resolve their module while executing
    spec.loader.exec_module(module)
    return module


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _data(tmp_path: Path, transcript: bytes) -> Path:
    meeting = tmp_path / "zoom-real" / "series" / "2026-01-01_001"
    _write(meeting / "transcript.vtt", transcript)
    _write(meeting / "chat.txt",
           b"00:00:05\tAnn Lee:\tfirst\nsecond line\r\n"
           b"00:00:06\tBob:\tReacted to \"first\" with \xf0\x9f\x91\x8d\r\n"
           b"00:00:07\tBob:\tReplying to \"first\"\n\nok\r\n")
    _write(meeting / "tldr.json", json.dumps({"meeting": "m", "highlights": {
        "a": [{"timestamp": "00:00:01", "highlight": "h1"}, {"timestamp": "00:00:02", "highlight": "h2"}]}}).encode())
    _write(tmp_path / "zoom-chat-legacy" / "notes.md",
           b"# Call\n\n**Ann (1:00) -** talk\n\n## Zoom Chat\n\n"
           b"- 10:00:01 From  Ann Lee  to  Everyone:\n\thello\n\n"
           b"- 10:00:02 From  Bob  to  Ann Lee(Direct Message): psst\n\n## Next section\n\nnot chat\n")
    _write(tmp_path / "zoom-chat-legacy" / "export.txt", b"10:01:00 From  John Doe  to  Everyone: \n  hi\n")
    _write(tmp_path / "subtitle-fixtures" / "a.srt", b"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\nno timing\n")
    return tmp_path


GOOD_VTT = (b"WEBVTT\r\n\r\n1\r\n00:00:01.000 --> 00:00:02.000\r\nAnn Lee: hello\r\n\r\n"
            b"2\r\n00:00:03.000 --> 00:00:04.000\r\nBob: hi\r\n")


def test_counts_and_success(tmp_path, coverage, capsys):
    assert coverage.main([str(_data(tmp_path, GOOD_VTT))]) == 0
    rows = {(r.folder, r.what): r for r in coverage.collect(tmp_path)}
    vtt = rows[("zoom-real", "transcript.vtt")]
    assert (vtt.present, vtt.parsed, vtt.with_speaker) == (2, 2, 2)
    chat = rows[("zoom-real", "chat.txt")]
    assert (chat.present, chat.parsed, chat.reactions, chat.segments) == (3, 3, 1, 2)
    assert rows[("zoom-real", "tldr.json")].parsed == 2
    legacy = rows[("zoom-chat-legacy", "*.md chat region")]
    assert (legacy.present, legacy.parsed, legacy.direct_messages) == (2, 2, 1)
    srt = rows[("subtitle-fixtures", "*.srt")]
    assert (srt.present, srt.parsed) == (1, 1)
    out = capsys.readouterr().out
    assert "zoom-real" in out and "hello" not in out and "Ann Lee" not in out


def test_missing_speaker_fails(tmp_path, coverage):
    vtt = GOOD_VTT + b"\r\n3\r\n00:00:05.000 --> 00:00:06.000\r\nno speaker here\r\n"
    assert coverage.main([str(_data(tmp_path, vtt))]) == 1


def test_legacy_region_extraction(coverage):
    region = coverage.legacy_region("intro\n- 10:00:01 From  A  to  Everyone:\n\thi\n\nmore prose\n")
    assert region == b"10:00:01 From  A  to  Everyone:\n\thi"
    assert coverage.legacy_region("no chat here") is None
