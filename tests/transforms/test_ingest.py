"""transforms/ingest.py: meeting folders → Artifacts, dead letters and skipped files.

One Beam run over a small input tree in real formats covers the happy path, every ingest
dead-letter reason, every skip reason and the accounting invariant; the in-DoFn error paths
are exercised by calling ``ParseArtifactFn.process`` directly.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.filesystem import FileMetadata
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from pipeline.config import IngestLimits
from transforms.ingest import (
    TAG_DEAD_LETTERS,
    TAG_SKIPPED,
    ParseArtifactFn,
    MeetingSelection,
    PlanMeetingFn,
    ReadMeetingArtifacts,
    RouteSelectedFn,
    build_artifact,
    fingerprint_uri,
    read_bounded,
)
from transforms.meeting_descriptor import parse_meeting_descriptor
from transforms.parsers.base import ArtifactRejected
from transforms.records import (
    ArtifactKind,
    DeadLetter,
    DeadLetterReason,
    SkippedFile,
    SkipReason,
)

CANARY = "ZeldaQuackenbush"            # planted in file contents and file names
LIMIT = 4096                            # IngestLimits.max_file_bytes for the main run

VTT = (b"WEBVTT\r\n\r\n"
       b"1\r\n00:00:01.000 --> 00:00:02.000\r\nAlice Smith: hello\r\n\r\n"
       b"2\r\n00:00:02.500 --> 00:00:04.000\r\nMallory: who am I\r\n\r\n")
CHAT = b"00:00:05\tAlice Smith:\thi\r\n00:00:09\tBob Jones:\thello all\r\n"
UPLOAD = b"Roadmap notes for the next quarter.\n"
GARBAGE = b"\x00\x01\x02\xff" * 64 + CANARY.encode() + b"\x00" * 64


def _meeting_json(meeting_id: str, artifacts) -> bytes:
    return json.dumps({
        "meeting_id": meeting_id, "account_id": "acc-1", "topic": "Planning",
        "started_at": "2026-11-20T10:00:00Z", "category": "general",
        "participants": [
            {"participant_id": "p-alice", "name": "Alice Smith", "email": "alice@example.com"},
            {"participant_id": "p-bob", "name": "Bob Jones"},
        ],
        "artifacts": [{"artifact_id": a, "kind": k, "path": p} for a, k, p in artifacts],
    }, indent=1).encode()


M1_ARTIFACTS = [
    ("t1", "transcript", "transcript.vtt"),
    ("c1", "chat", "chat/../chat.txt"),
    ("u1", "upload", "sub/roadmap.txt"),
    ("t-empty", "transcript", "empty.vtt"),
    ("t-garbage", "transcript", f"garbage-{CANARY}.vtt"),
    ("u-big", "upload", "big.txt"),
    ("x-hologram", "hologram", "hologram.bin"),
    ("t-missing", "transcript", "missing.vtt"),
    ("t-escape", "transcript", "../m2/transcript.vtt"),
]


def _build_tree(root: Path) -> dict:
    """Write the input tree; return {relative path: bytes} of every file written."""
    files = {
        f"README-{CANARY}.txt": b"files at the root are not meeting files\n",
        "m1/meeting.json": _meeting_json("m1", M1_ARTIFACTS),
        "m1/transcript.vtt": VTT,
        "m1/chat.txt": CHAT,
        "m1/sub/roadmap.txt": UPLOAD,
        "m1/empty.vtt": b"",
        f"m1/garbage-{CANARY}.vtt": GARBAGE,
        "m1/big.txt": (CANARY + " ").encode() * (LIMIT // len(CANARY) + 10),
        "m1/hologram.bin": b"\x89HOLO" + CANARY.encode(),
        f"m1/undeclared-{CANARY}.txt": f"{CANARY} was here\n".encode(),
        "m2/meeting.json": b'{"meeting_id": "m2", "topic": "' + CANARY.encode() + b'", ',   # truncated JSON
        "m2/transcript.vtt": VTT,
        "m2/nested/chat.txt": CHAT,
        "m3/chat.txt": CHAT,                                                                 # no meeting.json
    }
    for relative, payload in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    return files


def _artifact_view(artifact):
    return (artifact.meeting_id, artifact.artifact_id, artifact.kind.value, artifact.source_format,
            artifact.fingerprint, fingerprint_uri(artifact.source_uri),
            tuple((s.segment_id, s.participant_id, s.speaker_label, s.start_ms, s.text) for s in artifact.segments))


def _dead_letter_view(dead_letter: DeadLetter):
    return (dead_letter.meeting_id, dead_letter.artifact_id, dead_letter.source_fingerprint, dead_letter.stage,
            dead_letter.reason.value, dead_letter.kind, dead_letter.extension)


def _no_leaks(forbidden):
    def check(records):
        for record in records:
            text = repr(record)
            for needle in forbidden:
                if needle in text:
                    raise BeamAssertException(f"{type(record).__name__} leaks a forbidden string")
            if hasattr(record, "error_class") and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", record.error_class):
                raise BeamAssertException("error_class is not a class-like name")
    return check


def test_read_meeting_artifacts_end_to_end(tmp_path):
    root = tmp_path / "input"
    files = _build_tree(root)
    base = str(root) + "/"

    def fp(relative: str) -> str:
        return fingerprint_uri(base + relative)

    def sha(relative: str) -> str:
        return hashlib.sha256(files[relative]).hexdigest()

    expected_artifacts = [
        ("m1", "t1", "transcript", "webvtt", sha("m1/transcript.vtt"), fp("m1/transcript.vtt"), (
            ("m1/t1:00000", "p-alice", "Alice Smith", 1000, "hello"),
            ("m1/t1:00001", None, "Mallory", 2500, "who am I"))),
        ("m1", "c1", "chat", "zoom_chat_tsv", sha("m1/chat.txt"), fp("m1/chat.txt"), (
            ("m1/c1:00000", "p-alice", "Alice Smith", 5000, "hi"),
            ("m1/c1:00001", "p-bob", "Bob Jones", 9000, "hello all"))),
        ("m1", "u1", "upload", "plain_text", sha("m1/sub/roadmap.txt"), fp("m1/sub/roadmap.txt"), (
            ("m1/u1:00000", None, None, None, "Roadmap notes for the next quarter."),)),
    ]
    dl = DeadLetterReason
    expected_dead_letters = [
        ("m1", "t-empty", fp("m1/empty.vtt"), "ingest", dl.EMPTY.value, "transcript", "vtt"),
        ("m1", "t-garbage", fp(f"m1/garbage-{CANARY}.vtt"), "ingest", dl.BINARY_GARBAGE.value, "transcript", "vtt"),
        ("m1", "u-big", fp("m1/big.txt"), "ingest", dl.OVERSIZED.value, "upload", "txt"),
        ("m1", "x-hologram", fp("m1/hologram.bin"), "ingest", dl.UNKNOWN_KIND.value, None, "bin"),
        ("m1", "t-missing", fp("m1/missing.vtt"), "ingest", dl.MISSING_FILE.value, "transcript", "vtt"),
        ("m1", "t-escape", fp("m1/../m2/transcript.vtt"), "ingest", dl.PATH_ESCAPE.value, "transcript", "vtt"),
        ("m2", None, fp("m2/meeting.json"), "ingest", dl.MALFORMED_MEETING.value, None, "json"),
        ("m2", None, fp("m2/transcript.vtt"), "ingest", dl.MALFORMED_MEETING.value, None, "vtt"),
        ("m2", None, fp("m2/nested/chat.txt"), "ingest", dl.MALFORMED_MEETING.value, None, "txt"),
        ("m3", None, fp("m3/chat.txt"), "ingest", dl.MALFORMED_MEETING.value, None, "txt"),
    ]
    expected_skipped = [
        SkippedFile("", fp(f"README-{CANARY}.txt"), SkipReason.OUTSIDE_MEETING_FOLDER, "txt"),
        SkippedFile("m1", fp("m1/meeting.json"), SkipReason.MEETING_DESCRIPTOR, "json"),
        SkippedFile("m1", fp(f"m1/undeclared-{CANARY}.txt"), SkipReason.UNDECLARED, "txt"),
    ]
    every_file = [fp(relative) for relative in files]
    non_file_dead_letters = [fp("m1/missing.vtt"), fp("m1/../m2/transcript.vtt")]

    with TestPipeline() as p:
        out = p | ReadMeetingArtifacts(str(root), IngestLimits(max_file_bytes=LIMIT))
        assert_that(out["artifacts"] | "ArtifactView" >> beam.Map(_artifact_view),
                    equal_to(expected_artifacts), label="Artifacts")
        assert_that(out["dead_letters"] | "DeadLetterView" >> beam.Map(_dead_letter_view),
                    equal_to(expected_dead_letters), label="DeadLetters")
        assert_that(out["skipped"], equal_to(expected_skipped), label="Skipped")
        assert_that(out["meetings"] | "MeetingIds" >> beam.Map(lambda m: (m.meeting_id, m.folder_uri)),
                    equal_to([("m1", base + "m1/")]), label="Meetings")
        # Accounting: every file under the input is exactly one artifact, dead letter or skipped file.
        accounted = (
            (out["artifacts"] | "ArtifactFp" >> beam.Map(lambda a: fingerprint_uri(a.source_uri)),
             out["dead_letters"] | "DeadLetterFp" >> beam.Map(lambda d: d.source_fingerprint),
             out["skipped"] | "SkippedFp" >> beam.Map(lambda s: s.source_fingerprint))
            | "AllAccounted" >> beam.Flatten()
        )
        assert_that(accounted, equal_to(every_file + non_file_dead_letters), label="Accounting")
        # Nothing but ids and codes: no content, no file name, no raw path.
        records = (out["dead_letters"], out["skipped"]) | "Records" >> beam.Flatten()
        assert_that(records, _no_leaks([CANARY, str(tmp_path), "Alice", "hello"]), label="NoLeaks")


def test_empty_input_yields_nothing(tmp_path):
    (tmp_path / "input").mkdir()
    with TestPipeline() as p:
        out = p | ReadMeetingArtifacts(str(tmp_path / "input") + "/", IngestLimits())
        for name in ("artifacts", "dead_letters", "skipped", "meetings"):
            assert_that(out[name], equal_to([]), label=f"Empty[{name}]")


# ---------------------------------------------------------------- DoFn-level paths


def _meeting(tmp_path: Path, artifacts):
    folder = tmp_path / "m1"
    folder.mkdir(exist_ok=True)
    return parse_meeting_descriptor(_meeting_json("m1", artifacts), folder_uri=str(folder) + "/")


def _work_item(tmp_path: Path, artifact_id: str, kind: str, name: str, payload: bytes):
    meeting = _meeting(tmp_path, [(artifact_id, kind, name)])
    path = tmp_path / "m1" / name
    path.write_bytes(payload)
    return meeting, meeting.artifacts[0], FileMetadata(str(path), len(payload))


def _run_fn(element, limits=IngestLimits()):
    fn = ParseArtifactFn(limits)
    fn.setup()
    return list(fn.process(element))


def _dead_letters(outputs):
    assert all(isinstance(o, beam.pvalue.TaggedOutput) and o.tag == TAG_DEAD_LETTERS for o in outputs)
    return [o.value for o in outputs]


def test_build_artifact_fingerprints_bytes_and_numbers_segments(tmp_path):
    meeting = _meeting(tmp_path, [("chat-7", "Chat", "c.txt")])
    artifact = build_artifact(meeting, meeting.artifacts[0], "/in/m1/c.txt", CHAT, IngestLimits())
    assert artifact.kind is ArtifactKind.CHAT
    assert artifact.fingerprint == hashlib.sha256(CHAT).hexdigest()
    assert artifact.source_uri == "/in/m1/c.txt"
    assert [s.segment_id for s in artifact.segments] == ["m1/chat-7:00000", "m1/chat-7:00001"]
    assert [s.participant_id for s in artifact.segments] == ["p-alice", "p-bob"]


def test_parse_fn_yields_the_artifact(tmp_path):
    element = _work_item(tmp_path, "t1", "transcript", "t.vtt", VTT)
    (artifact,) = _run_fn(element)
    assert artifact.artifact_id == "t1" and len(artifact.segments) == 2


def test_a_parser_bug_becomes_an_internal_error_dead_letter(tmp_path, monkeypatch):
    import transforms.parsers

    def broken_parser(payload, **kwargs):
        raise ZeroDivisionError(f"bug while parsing {payload[:20]!r} {CANARY}")

    monkeypatch.setattr(transforms.parsers, "parse_artifact", broken_parser)
    element = _work_item(tmp_path, "t1", "transcript", f"{CANARY}.vtt", VTT)
    (dead_letter,) = _dead_letters(_run_fn(element))
    assert dead_letter.reason is DeadLetterReason.INTERNAL_ERROR
    assert dead_letter.error_class == "ZeroDivisionError"
    assert (dead_letter.meeting_id, dead_letter.artifact_id, dead_letter.stage) == ("m1", "t1", "ingest")
    assert dead_letter.source_fingerprint == fingerprint_uri(element[2].path)
    assert CANARY not in repr(dead_letter) and "WEBVTT" not in repr(dead_letter)


def test_a_file_deleted_after_matching_is_a_read_error(tmp_path):
    meeting, declaration, metadata = _work_item(tmp_path, "t1", "transcript", "t.vtt", VTT)
    Path(metadata.path).unlink()
    (dead_letter,) = _dead_letters(_run_fn((meeting, declaration, metadata)))
    assert dead_letter.reason is DeadLetterReason.READ_ERROR
    assert dead_letter.error_class == "FileNotFoundError"


def test_a_file_that_grew_after_matching_is_still_bounded(tmp_path):
    meeting, declaration, metadata = _work_item(tmp_path, "u1", "upload", "u.txt", UPLOAD * 100)
    stale = FileMetadata(metadata.path, 10)             # listed small, now large
    (dead_letter,) = _dead_letters(_run_fn((meeting, declaration, stale), IngestLimits(max_file_bytes=100)))
    assert dead_letter.reason is DeadLetterReason.OVERSIZED


def test_read_bounded(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    assert read_bounded(str(path), 100) == b"x" * 100
    with pytest.raises(ArtifactRejected) as caught:
        read_bounded(str(path), 99)
    assert caught.value.reason is DeadLetterReason.OVERSIZED


# ---------------------------------------------------------------- known bugs


def test_dead_letters_carry_the_canonical_kind(tmp_path):
    element = _work_item(tmp_path, "t1", "Transcript", "t.vtt", b"")
    (dead_letter,) = _dead_letters(_run_fn(element))
    assert dead_letter.reason is DeadLetterReason.EMPTY
    assert dead_letter.kind == "transcript"


def _plan(tmp_path: Path, artifacts, extra_files=()):
    """PlanMeetingFn.process on folder m1 holding meeting.json and ``extra_files`` {name: bytes}."""
    root = str(tmp_path) + "/"
    folder = tmp_path / "m1"
    folder.mkdir(exist_ok=True)
    files = {"meeting.json": _meeting_json("m1", artifacts), **dict(extra_files)}
    metadata = []
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
        metadata.append(FileMetadata(str(folder / name), len(payload)))
    planned = list(PlanMeetingFn(root, IngestLimits(), MeetingSelection()).process(("m1", metadata)))
    outputs = [output for item in planned for output in RouteSelectedFn().process(item)]
    tagged = [o for o in outputs if isinstance(o, beam.pvalue.TaggedOutput)]
    work = [o for o in outputs if not isinstance(o, beam.pvalue.TaggedOutput)]
    records = [o.value for o in tagged if o.tag in (TAG_DEAD_LETTERS, TAG_SKIPPED)]
    return work, records


def test_plan_meeting_accounts_every_file_of_the_folder(tmp_path):
    work, records = _plan(tmp_path, [("t1", "transcript", "t.vtt"), ("t2", "transcript", "gone.vtt")],
                          {"t.vtt": VTT, "other.txt": b"x"})
    assert [(d.artifact_id, m.path) for _, d, m in work] == [("t1", str(tmp_path / "m1" / "t.vtt"))]
    assert sorted((type(r).__name__, r.reason.value) for r in records) == [
        ("DeadLetter", "missing_file"), ("SkippedFile", "meeting_descriptor"), ("SkippedFile", "undeclared")]


def test_path_escape_dead_letter_does_not_copy_an_unvalidated_kind(tmp_path):
    _, records = _plan(tmp_path, [("x1", f"kind-{CANARY}", "../x.txt")])
    (dead_letter,) = [r for r in records if isinstance(r, DeadLetter)]
    assert dead_letter.reason is DeadLetterReason.PATH_ESCAPE
    assert CANARY not in repr(dead_letter)


def test_extensions_do_not_leak_file_names(tmp_path):
    _, records = _plan(tmp_path, [], {f"minutes.{CANARY.lower()}": b"x"})
    (skipped,) = [r for r in records if r.reason is SkipReason.UNDECLARED]
    assert CANARY.lower() not in repr(skipped)


def test_a_file_declared_twice_is_parsed_once_and_the_second_declaration_dead_lettered(tmp_path):
    work, records = _plan(tmp_path, [("t1", "transcript", "t.vtt"), ("t2", "transcript", "./t.vtt")], {"t.vtt": VTT})
    t_vtt = fingerprint_uri(str(tmp_path / "m1" / "t.vtt"))
    assert [d.artifact_id for d, m in ((d, m) for _, d, m in work) if fingerprint_uri(m.path) == t_vtt] == ["t1"]
    (duplicate,) = [r for r in records if getattr(r, "artifact_id", None) == "t2"]
    assert duplicate.reason is DeadLetterReason.DUPLICATE_DECLARATION


# ---------------------------------------------------------------- hostile and careless input (issue 16)

import os  # noqa: E402

from transforms.ids import WITHHELD_ID  # noqa: E402


def _plan_folder(tmp_path: Path, folder: str, descriptor: bytes, extra_files=()):
    """PlanMeetingFn + RouteSelectedFn on one folder; returns (work, meetings, records)."""
    root = str(tmp_path) + "/"
    path = tmp_path / folder
    path.mkdir(exist_ok=True)
    files = {"meeting.json": descriptor, **dict(extra_files)}
    metadata = []
    for name, payload in files.items():
        (path / name).write_bytes(payload)
        metadata.append(FileMetadata(str(path / name), len(payload)))
    planned = list(PlanMeetingFn(root, IngestLimits(), MeetingSelection()).process((folder, metadata)))
    outputs = [output for item in planned for output in RouteSelectedFn().process(item)]
    tagged = [o for o in outputs if isinstance(o, beam.pvalue.TaggedOutput)]
    work = [o for o in outputs if not isinstance(o, beam.pvalue.TaggedOutput)]
    meetings = [o.value for o in tagged if o.tag == "meetings"]
    records = [o.value for o in tagged if o.tag in (TAG_DEAD_LETTERS, TAG_SKIPPED)]
    return work, meetings, records


def _with(meeting_id: str, artifacts, **changes) -> bytes:
    raw = json.loads(_meeting_json(meeting_id, artifacts))
    raw.update(changes)
    return json.dumps(raw).encode()


@pytest.mark.parametrize("started_at", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"])
def test_a_started_at_that_overflows_dead_letters_the_meeting_instead_of_crashing(tmp_path, started_at):
    work, meetings, records = _plan_folder(tmp_path, "m1", _with("m1", [("t1", "transcript", "t.vtt")],
                                                                 started_at=started_at), {"t.vtt": VTT})
    assert work == [] and meetings == []
    assert sorted((r.meeting_id, r.reason.value) for r in records) == [("m1", "invalid_started_at")] * 2


def test_a_lone_surrogate_id_dead_letters_the_meeting(tmp_path):
    descriptor = _meeting_json("m1", [("t-X", "transcript", "t.vtt")]).replace(b"t-X", b"t\\ud800")
    work, meetings, records = _plan_folder(tmp_path, "m1", descriptor, {"t.vtt": VTT})
    assert work == [] and meetings == []
    assert sorted(r.reason.value for r in records) == ["invalid_unicode"] * 2


def test_an_unexpected_error_planning_a_folder_dead_letters_only_that_folder(tmp_path, monkeypatch):
    import transforms.ingest as ingest

    def broken(payload, folder_uri=""):
        raise KeyError(CANARY)

    monkeypatch.setattr(ingest, "parse_meeting_descriptor", broken)
    work, meetings, records = _plan_folder(tmp_path, "m1", _meeting_json("m1", []), {"t.vtt": VTT})
    assert work == [] and meetings == []
    assert sorted((r.reason.value, r.error_class) for r in records) == [("internal_error", "KeyError")] * 2
    assert CANARY not in repr(records)


@pytest.mark.parametrize("claimed", ["m-001", "M1"])
def test_a_meeting_id_that_is_not_its_folder_name_dead_letters_that_folder(tmp_path, claimed):
    work, meetings, records = _plan_folder(tmp_path, "m1", _with(claimed, [("t1", "transcript", "t.vtt")]),
                                           {"t.vtt": VTT, "other.txt": b"x"})
    assert work == [] and meetings == []
    assert sorted((r.meeting_id, r.artifact_id, r.reason.value) for r in records) == [
        ("m1", None, "meeting_id_mismatch")] * 3


def test_a_meeting_id_naming_a_participant_is_withheld(tmp_path):
    folder = "alice-smith-1on1"
    work, meetings, records = _plan_folder(tmp_path, folder, _with(folder, [("t1", "transcript", "t.vtt")]),
                                           {"t.vtt": VTT})
    assert work == [] and meetings == []
    assert sorted((r.meeting_id, r.reason.value) for r in records) == [(WITHHELD_ID, "unsafe_id")] * 2


def test_an_unsafe_artifact_id_dead_letters_only_that_artifact_and_is_never_recorded(tmp_path):
    artifacts = [("t1", "transcript", "t.vtt"), ("bob-jones-notes", "upload", "n.txt"),
                 ("mail bob@example.com", "upload", "m.txt"), ("s1", "derived", "s.txt")]
    raw = json.loads(_meeting_json("m1", artifacts))
    raw["artifacts"][3]["derived_from"] = ["bob-jones-notes"]
    files = {"t.vtt": VTT, "n.txt": UPLOAD, "m.txt": UPLOAD, "s.txt": UPLOAD}
    work, meetings, records = _plan_folder(tmp_path, "m1", json.dumps(raw).encode(), files)
    assert [d.artifact_id for _, d, _ in work] == ["t1"] and len(meetings) == 1
    dead = sorted((r.artifact_id or "", r.reason.value) for r in records if isinstance(r, DeadLetter))
    assert dead == [("", "unsafe_id"), ("", "unsafe_id"), ("", "unsafe_id")]
    assert "bob" not in repr(records).lower()


def test_a_declared_file_under_a_linked_folder_is_a_symlink_dead_letter(tmp_path):
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "secret.txt").write_bytes(CANARY.encode())
    (tmp_path / "m1").mkdir()
    os.symlink(outside, tmp_path / "m1" / "linked")
    work, _, records = _plan_folder(tmp_path, "m1", _meeting_json("m1", [("u1", "upload", "linked/secret.txt")]))
    assert work == []
    assert [r.reason.value for r in records if isinstance(r, DeadLetter)] == ["symlink"]


def test_hostile_folders_in_one_pipeline(tmp_path):
    """Same artifact id in two meetings, ids equal up to case, a folder name that is not UTF-8,
    a linked meeting.json, a linked upload: the good meetings come through, everything is
    accounted for exactly once, and nothing outside the input is read."""
    root = tmp_path / "input"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(CANARY.encode())
    (outside / "meeting.json").write_bytes(_meeting_json("m5", [("t1", "transcript", "t.vtt")]))
    layout = {
        "m1": [("transcript", "transcript", "t.vtt"), ("u1", "upload", "notes.txt")],
        "m2": [("transcript", "transcript", "t.vtt")],
        "Case": [("t1", "transcript", "t.vtt")],
        "case": [("t1", "transcript", "t.vtt")],
    }
    for folder, artifacts in layout.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "meeting.json").write_bytes(_meeting_json(folder, artifacts))
        (root / folder / "t.vtt").write_bytes(VTT)
    os.symlink(outside / "secret.txt", root / "m1" / "notes.txt")
    (root / "m5").mkdir()
    os.symlink(outside / "meeting.json", root / "m5" / "meeting.json")
    (root / "m5" / "t.vtt").write_bytes(VTT)
    os.mkdir(bytes(root) + b"/m\xff")
    with open(bytes(root) + b"/m\xff/meeting.json", "wb") as handle:
        handle.write(_meeting_json("m6", []))
    every_file = [fingerprint_uri(os.fsdecode(os.path.join(dirpath, name)))
                  for dirpath, _, names in os.walk(bytes(root)) for name in names]

    with TestPipeline() as p:
        out = p | ReadMeetingArtifacts(str(root), IngestLimits())
        assert_that(out["artifacts"] | "Segments" >> beam.FlatMap(lambda a: [s.segment_id for s in a.segments]),
                    equal_to(["m1/transcript:00000", "m1/transcript:00001",
                              "m2/transcript:00000", "m2/transcript:00001"]), label="SegmentIds")
        assert_that(out["meetings"] | "MeetingIds" >> beam.Map(lambda m: m.meeting_id), equal_to(["m1", "m2"]),
                    label="Meetings")
        assert_that(out["dead_letters"] | "Reasons" >> beam.Map(lambda d: (d.meeting_id, d.artifact_id, d.reason.value)),
                    equal_to([("m1", "u1", "symlink"),
                              ("Case", None, "duplicate_meeting_id"), ("Case", None, "duplicate_meeting_id"),
                              ("case", None, "duplicate_meeting_id"), ("case", None, "duplicate_meeting_id"),
                              ("m5", None, "symlink"), ("m5", None, "symlink"),
                              (WITHHELD_ID, None, "unsafe_id")]), label="DeadLetters")
        accounted = (
            (out["artifacts"] | "ArtifactFp" >> beam.Map(lambda a: fingerprint_uri(a.source_uri)),
             out["dead_letters"] | "DeadLetterFp" >> beam.Map(lambda d: d.source_fingerprint),
             out["skipped"] | "SkippedFp" >> beam.Map(lambda s: s.source_fingerprint))
            | "AllAccounted" >> beam.Flatten()
        )
        assert_that(accounted, equal_to(every_file), label="Accounting")
        assert_that(out["artifacts"], _no_leaks([CANARY]), label="NothingFromOutside")


def test_lone_surrogates_in_parsed_text_become_replacement_characters(tmp_path):
    meeting = _meeting(tmp_path, [("s1", "derived", "s.json")])
    payload = b'{"summary": "half an emoji \\ud83d here"}'
    artifact = build_artifact(meeting, meeting.artifacts[0], "/in/m1/s.json", payload, IngestLimits())
    (segment,) = artifact.segments
    assert "\ufffd" in segment.text and "here" in segment.text
    segment.text.encode("utf-8")          # Beam's coders and Parquet need this
