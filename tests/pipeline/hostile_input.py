"""An input folder holding every hostile or careless case of issue 16 (items 1, 2, 4, 5) at once.

``build_hostile_input(tmp)`` writes ``tmp/input`` (good meetings + bad ones), ``tmp/outside``
(files outside INPUT that symlinks point at, holding canary PII) and ``tmp/ledger.jsonl``;
it returns a ``HostileInput`` that says what each case must become.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from gatekeeper_cli import EXAMPLES

OUTSIDE_CANARY = "Yolanda Featherstonehaugh SSN 078-05-1120 outside-canary-7Q"
VTT = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nAlice Johnson: The {tag} plan is on track.\n\n"
       "2\n00:00:05.000 --> 00:00:08.000\nBruno Martins: Agreed, {tag} ships next week.\n")
ROSTER = [
    {"participant_id": "p-alice", "name": "Alice Johnson", "email": "alice.johnson@northwind-example.com"},
    {"participant_id": "p-bruno", "name": "Bruno Martins", "email": "bruno.martins@northwind-example.com"},
]


@dataclass
class HostileInput:
    input_dir: Path
    ledger: Path
    outside: Path
    outside_files: List[Path]
    # meeting id -> sentinel word of its transcript, for meetings that must publish
    published: Dict[str, str] = field(default_factory=dict)
    # reason -> how many dead letters at least
    dead_letter_reasons: Dict[str, int] = field(default_factory=dict)
    # strings that must appear in no output file (canaries, unsafe ids, folder names)
    forbidden: List[str] = field(default_factory=list)


def _descriptor(meeting_id, artifacts, **changes) -> dict:
    raw = {"meeting_id": meeting_id, "account_id": "acct-northwind", "topic": "Hostile input review",
           "started_at": "2026-05-20T11:00:00Z", "category": "general", "host_participant_id": "p-alice",
           "participants": ROSTER, "artifacts": artifacts}
    raw.update(changes)
    return raw


def _transcript(artifact_id="transcript", path="transcript.vtt") -> dict:
    return {"artifact_id": artifact_id, "kind": "transcript", "path": path, "derived_from": []}


def _meeting(root: Path, folder: str, descriptor, files: Dict[str, str]) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    if isinstance(descriptor, bytes):
        (path / "meeting.json").write_bytes(descriptor)
    elif descriptor is not None:
        (path / "meeting.json").write_text(json.dumps(descriptor, indent=1), encoding="utf-8")
    for relative, text in files.items():
        (path / relative).parent.mkdir(parents=True, exist_ok=True)
        (path / relative).write_text(text, encoding="utf-8")
    return path


def build_hostile_input(tmp: Path) -> HostileInput:
    root, outside = tmp / "input", tmp / "outside"
    outside.mkdir(parents=True)
    secret = outside / "secret.txt"
    secret.write_text(f"Private notes of {OUTSIDE_CANARY}.\n", encoding="utf-8")
    (outside / "dir").mkdir()
    (outside / "dir" / "secret.txt").write_text(f"{OUTSIDE_CANARY} again.\n", encoding="utf-8")
    outside_meeting = outside / "meeting.json"
    outside_meeting.write_text(json.dumps(_descriptor("m-102", [_transcript()], topic=OUTSIDE_CANARY)),
                               encoding="utf-8")
    case = HostileInput(root, tmp / "ledger.jsonl", outside,
                        [secret, outside / "dir" / "secret.txt", outside_meeting])
    reasons = case.dead_letter_reasons
    case.forbidden.append(OUTSIDE_CANARY)

    # A real meeting, untouched by everything else in the folder.
    shutil.copytree(EXAMPLES / "meetings" / "m-001", root / "m-001")
    case.published["m-001"] = "roadmap-kestrel"

    # 1. Symbolic links: a declared upload linked to a file outside INPUT, a declared file under a
    #    linked folder, meeting.json itself a link, a FIFO; the meeting's transcript still publishes.
    m101 = _meeting(root, "m-101", _descriptor("m-101", [
        _transcript(),
        {"artifact_id": "notes", "kind": "upload", "path": "uploads/notes.txt"},
        {"artifact_id": "linked-dir", "kind": "upload", "path": "linked/secret.txt"},
        {"artifact_id": "fifo", "kind": "chat", "path": "chat.txt"},
    ]), {"transcript.vtt": VTT.format(tag="heron-101")})
    (m101 / "uploads").mkdir()
    os.symlink(secret, m101 / "uploads" / "notes.txt")
    os.symlink(outside / "dir", m101 / "linked")
    os.mkfifo(m101 / "chat.txt")
    case.published["m-101"] = "heron-101"
    m102 = root / "m-102"
    m102.mkdir()
    os.symlink(outside_meeting, m102 / "meeting.json")
    (m102 / "transcript.vtt").write_text(VTT.format(tag="linked-102"), encoding="utf-8")
    reasons.update(symlink=2 + 2, special_file=1)   # notes, linked-dir; m-102's two files
    case.forbidden.append("linked-102")

    # 2. One bad meeting.json never sinks the night.
    bad = {
        "m-201": (_descriptor("m-201", [_transcript()], started_at="9999-12-31T23:00:00-05:00"), "invalid_started_at"),
        "m-202": (_descriptor("m-202", [_transcript()], started_at="0001-01-01T00:30:00+01:00"), "invalid_started_at"),
        "m-203": (json.dumps(_descriptor("m-203", [_transcript("t-SURROGATE")])).replace(
            "t-SURROGATE", "t\\ud800").encode(), "invalid_unicode"),
        "m-204": (b'{"meeting_id": "m-204", "meeting_id": "m-001", "account_id": "acct-northwind", '
                  b'"started_at": "2026-05-20T11:00:00Z"}', "malformed_meeting"),
        "m-205": (json.dumps(_descriptor("m-205", [_transcript()], topic=float("nan"))).encode(), "malformed_meeting"),
        "m-206": (json.dumps(_descriptor("m-206", [_transcript()])).replace(
            '"topic"', '"size": ' + "9" * 5000 + ', "topic"').encode(), "malformed_meeting"),
        "m-207": (json.dumps(_descriptor("m-207", [_transcript()], topic="caf\u00e9")).encode("utf-16"),
                  "malformed_meeting"),
        "m-208": (json.dumps(_descriptor("m-208", [_transcript()])).replace(
            '"participants"', '"junk": ' + "[" * 5000 + "]" * 5000 + ', "participants"').encode(),
                  "malformed_meeting"),
        "m-209": (json.dumps(_descriptor(["m-209"], [_transcript()])).encode(), "malformed_meeting"),
        "m-210": (json.dumps(_descriptor("m-210", [_transcript()], started_at="2026-13-45T99:00:00Z")).encode(),
                  "invalid_started_at"),
    }
    for folder, (descriptor, reason) in bad.items():
        _meeting(root, folder, descriptor, {"transcript.vtt": VTT.format(tag=f"bad-{folder}")})
        reasons[reason] = reasons.get(reason, 0) + 2
        case.forbidden.append(f"bad-{folder}")

    # A transcript export holding half an emoji (a lone surrogate escape) still publishes.
    timeline = {"timeline": [{"ts": "00:00:01.000", "end_ts": "00:00:04.000", "username": "Alice Johnson",
                              "text": "The egret-211 plan SURROGATE is on track."}]}
    _meeting(root, "m-211", _descriptor("m-211", [_transcript(path="transcript.json")]),
             {"transcript.json": json.dumps(timeline).replace("SURROGATE", "\\ud83d")})
    case.published["m-211"] = "egret-211"

    # 4. Ids the contract allows: two meetings with an artifact named "transcript", the same
    #    meeting copied into a second folder, a folder claiming another meeting's id, and two
    #    folders whose ids differ only in case.
    for folder in ("m-301", "m-302"):
        _meeting(root, folder, _descriptor(folder, [_transcript()]), {"transcript.vtt": VTT.format(tag=f"tern-{folder}")})
        case.published[folder] = f"tern-{folder}"
    shutil.copytree(EXAMPLES / "meetings" / "m-001", root / "m-001-copy")
    _meeting(root, "m-evil", _descriptor("m-001", [_transcript("m-001-transcript")]),
             {"transcript.vtt": VTT.format(tag="evil-takeover")})
    copy_files = sum(1 for p in (root / "m-001-copy").rglob("*") if p.is_file())
    reasons["meeting_id_mismatch"] = copy_files + 2
    case.forbidden.append("evil-takeover")
    for folder in ("M-401", "m-401"):
        _meeting(root, folder, _descriptor(folder, [_transcript()]), {"transcript.vtt": VTT.format(tag=f"case-{folder}")})
        case.forbidden.append(f"case-{folder}")
    reasons["duplicate_meeting_id"] = 4

    # 5. Ids that carry names: an artifact id naming a participant, one holding an e-mail
    #    address, a folder named after a person, a folder whose name is not UTF-8, a meeting id
    #    naming its host.
    _meeting(root, "m-501", _descriptor("m-501", [
        _transcript(),
        {"artifact_id": "alice-johnson-notes", "kind": "upload", "path": "notes.txt"},
        {"artifact_id": "notes for bob@example.com", "kind": "upload", "path": "notes2.txt"},
    ]), {"transcript.vtt": VTT.format(tag="plover-501"), "notes.txt": "Named notes.\n", "notes2.txt": "More.\n"})
    case.published["m-501"] = "plover-501"
    _meeting(root, "Dana Whitfield 1on1", _descriptor("Dana Whitfield 1on1", [_transcript()]),
             {"transcript.vtt": VTT.format(tag="named-folder")})
    raw_root = bytes(root)
    os.mkdir(raw_root + b"/m-\xff\xfe")
    with open(raw_root + b"/m-\xff\xfe/meeting.json", "wb") as handle:
        handle.write(json.dumps(_descriptor("m-502", [_transcript()])).encode())
    _meeting(root, "alice-johnson-1on1", _descriptor("alice-johnson-1on1", [_transcript()]),
             {"transcript.vtt": VTT.format(tag="named-meeting")})
    reasons["unsafe_id"] = 2 + 2 + 1 + 2
    case.forbidden += ["alice-johnson-notes", "bob@example.com", "Dana Whitfield 1on1", "alice-johnson-1on1",
                       "named-folder", "named-meeting"]

    events = [line for line in (EXAMPLES / "consent" / "ledger.jsonl").read_text().splitlines() if line.strip()]
    for meeting_id in ("m-101", "m-102", "m-201", "m-211", "m-202", "m-203", "m-204", "m-205", "m-206", "m-207",
                       "m-208", "m-209", "m-210", "m-301", "m-302", "M-401", "m-401", "m-501", "m-502",
                       "alice-johnson-1on1", "Dana Whitfield 1on1"):
        events.append(json.dumps({"event_id": f"ev-hostile-{len(events)}", "subject_type": "meeting",
                                  "subject_id": meeting_id, "purpose": "ai_training", "artifact_kinds": ["*"],
                                  "status": "granted", "effective_at": "2026-05-19T00:00:00Z"}))
    case.ledger.write_text("\n".join(events) + "\n", encoding="utf-8")
    return case


class OpenWatch:
    """Records whether any of ``paths`` is opened (inotify IN_OPEN), without opening them."""

    IN_OPEN = 0x20

    def __init__(self, paths: List[Path]):
        libc_name = ctypes.util.find_library("c")
        self._libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None
        self.fd: Optional[int] = None
        if self._libc is None or not hasattr(self._libc, "inotify_init1"):
            return
        fd = self._libc.inotify_init1(os.O_NONBLOCK)
        if fd < 0:
            return
        for path in paths:
            if self._libc.inotify_add_watch(fd, os.fsencode(path), self.IN_OPEN) < 0:
                os.close(fd)
                return
        self.fd = fd

    @property
    def available(self) -> bool:
        return self.fd is not None

    def opened(self) -> int:
        """How many opens were seen so far."""
        count = 0
        while True:
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                return count
            offset = 0
            while offset < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                count += bool(mask & self.IN_OPEN)
                offset += 16 + length

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
