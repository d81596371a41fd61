"""Deterministic generator of the bundled sample meetings and their consent ledger.

    python -m examples.generate [--out examples]

Writes ``examples/meetings/<meeting_id>/`` (meeting.json + artifacts in real export
formats), ``examples/consent/ledger.jsonl`` and ``examples/consent/ledger.sqlite``.
Everything is synthetic. Planted PII (``CANARIES``) must never appear in any output;
sentinel phrases of meetings that must not be published (``WITHHELD_SENTINELS``) must
never appear either, while those of consented meetings (``PUBLISHED_SENTINELS``) must.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from examples import builders
from examples.builders import BoardElement

AS_OF = "2026-06-01T00:00:00Z"   # the examples' fixed evaluation time (make run passes it)
ACCOUNT = "acct-northwind"

# Participants: (participant_id, name, email)
ALICE = ("p-alice", "Alice Johnson", "alice.johnson@northwind-example.com")
BRUNO = ("p-bruno", "Bruno Martins", "bruno.martins@northwind-example.com")
CHIDI = ("p-chidi", "Chidi Okafor", "chidi.okafor@northwind-example.com")
DANA = ("p-dana", "Dana Whitfield", "dana.whitfield@northwind-example.com")
EMIL = ("p-emil", "Emil Novak", "emil.novak@northwind-example.com")

# Planted PII: none of these strings may appear in any output file.
CANARIES = {
    "names": ["Alice Johnson", "Bruno Martins", "Chidi Okafor", "Dana Whitfield", "Emil Novak"],
    "emails": [ALICE[2], BRUNO[2], CHIDI[2], DANA[2], EMIL[2], "orders@contoso-example.org"],
    "phones": ["(415) 555-0132", "212-555-0199", "+44 20 7946 0958"],
    "cards": ["4111 1111 1111 1111", "5500-0000-0000-0004"],
    "ssns": ["078-05-1120"],
    "ibans": ["GB82 WEST 1234 5698 7654 32"],
    "ips": ["203.0.113.45"],
    "addresses": ["1600 Amphitheatre Parkway", "221B Baker Street"],
    "join_urls": ["https://northwind.zoom.us/j/81234567890?pwd=Zk9xUWt3cGhQbTlrY2hOQT09"],
}
PUBLISHED_SENTINELS = ["roadmap-kestrel", "budget-osprey"]
WITHHELD_SENTINELS = ["nonconsent-heron", "revoked-plover", "telehealth-egret", "withdrawn-avocet",
                      "direct-message-gannet", "expired-tern"]


def _vtt(cues: Sequence[Tuple[str, str]], crlf: bool = True) -> bytes:
    eol = "\r\n" if crlf else "\n"
    out = ["WEBVTT", ""]
    for index, (speaker, text) in enumerate(cues, start=1):
        start = 5 + index * 7
        out += [str(index), f"00:{start // 60:02d}:{start % 60:02d}.120 --> 00:{(start + 6) // 60:02d}:"
                f"{(start + 6) % 60:02d}.480", f"{speaker}: {text}" if speaker else text, ""]
    return eol.join(out).encode("utf-8")


def _srt(cues: Sequence[Tuple[str, str]]) -> bytes:
    out = []
    for index, (speaker, text) in enumerate(cues, start=1):
        start = 3 + index * 5
        out += [str(index), f"00:00:{start:02d},000 --> 00:00:{start + 4:02d},500", f"{speaker}: {text}", ""]
    return "\n".join(out).encode("utf-8")


def _chat_tsv(messages: Sequence[Tuple[str, str]]) -> bytes:
    lines = []
    for index, (sender, text) in enumerate(messages):
        seconds = 65 + index * 37
        lines.append(f"00:{seconds // 60:02d}:{seconds % 60:02d}\t{sender}:\t{text}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _chat_legacy(messages: Sequence[Tuple[str, str, str]]) -> bytes:
    lines = []
    for index, (sender, recipient, text) in enumerate(messages):
        stamp = f"10:{index:02d}:{(index * 13) % 60:02d}"
        if recipient == "Everyone":
            lines.append(f"{stamp} From  {sender}  to  Everyone: ")
        else:
            lines.append(f"{stamp} From  {sender}  to  {recipient}(Direct Message):")
        lines.append(f"\t{text}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _poll_csv_wide(topic: str, questions: Sequence[str], responses: Sequence[Tuple[str, str, Sequence[str]]]) -> bytes:
    out = [
        "Poll Report",
        'Report Generated:,"May 20, 2026 10:02 AM"',
        "Topic,ID,Actual Start Time,Actual Duration (minutes),# Participants",
        f'{topic},812 3456 7890,"May 20, 2026 09:00 AM",45,{len(responses)}',
        "",
        "#,User Name,User Email,Submitted Date/Time," + ",".join(questions),
    ]
    for index, (name, email, answers) in enumerate(responses, start=1):
        quoted = ",".join('"' + a.replace('"', '""') + '"' for a in answers)
        out.append(f'{index},{name},{email},"May 20, 2026 09:3{index}:00",{quoted}')
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def _poll_json(title: str, responses: Sequence[Tuple[str, str, Sequence[Tuple[str, str]]]]) -> bytes:
    payload = {"id": 81234567890, "uuid": "example-poll-uuid", "start_time": "2026-05-21T15:00:00Z",
               "questions": [{"name": name, "email": email,
                              "question_details": [{"question": q, "answer": a, "polling_id": "poll-1",
                                                    "date_time": "2026-05-21 15:10:00"} for q, a in details]}
                             for name, email, details in responses],
               "title": title}
    return json.dumps(payload, indent=2).encode("utf-8")


def _summary(title: str, highlights: Sequence[str]) -> bytes:
    payload = {"meeting": title, "highlights": {"decisions": [
        {"timestamp": f"00:{i + 1:02d}:00", "highlight": h} for i, h in enumerate(highlights)]}}
    return json.dumps(payload, indent=2).encode("utf-8")


def _meeting(meeting_id: str, topic: str, category: str, people, artifacts: List[dict],
             account: str = ACCOUNT) -> dict:
    # Two meeting days, so the output has two date partitions.
    day = 20 if int(meeting_id.rsplit("-", 1)[-1]) <= 6 else 21
    return {
        "meeting_id": meeting_id, "account_id": account, "topic": topic,
        "started_at": f"2026-05-{day}T09:00:00Z", "category": category,
        "host_participant_id": people[0][0],
        "participants": [{"participant_id": p[0], "name": p[1], "email": p[2]} for p in people],
        "artifacts": artifacts,
    }


def _artifact(artifact_id: str, kind: str, path: str, derived_from=(), owner=None) -> dict:
    entry = {"artifact_id": artifact_id, "kind": kind, "path": path, "derived_from": list(derived_from)}
    if owner:
        entry["owner_participant_id"] = owner
    return entry


def build_meetings() -> Dict[str, Tuple[dict, Dict[str, bytes]]]:
    """meeting_id → (meeting.json dict, {relative path: bytes})."""
    meetings: Dict[str, Tuple[dict, Dict[str, bytes]]] = {}
    everyone = [ALICE, BRUNO, CHIDI]
    consenting = [ALICE, BRUNO, EMIL]

    # m-001: fully consented planning meeting, every artifact kind, PII everywhere.
    files = {
        "transcript.vtt": _vtt([
            (ALICE[1], "Good morning everyone, this is the roadmap-kestrel review."),
            (BRUNO[1], f"Thanks Alice. You can reach me at {BRUNO[2]} or (415) 555-0132."),
            (EMIL[1], "The shipping address is 1600 Amphitheatre Parkway, Mountain View, CA 94043."),
            (ALICE[1], "Emil's card 4111 1111 1111 1111 was charged twice, please refund it."),
            (BRUNO[1], "Join the follow-up at https://northwind.zoom.us/j/81234567890?pwd=Zk9xUWt3cGhQbTlrY2hOQT09"),
            (EMIL[1], "We agreed the roadmap-kestrel milestones for the third quarter."),
        ]),
        "chat.txt": _chat_tsv([
            (ALICE[1], "Slides are in the shared folder, roadmap-kestrel v3"),
            (BRUNO[1], "Replying to \"Slides are in the sh...\"\n\nGot them, thanks Alice"),
            (EMIL[1], "Reacted to \"Slides are in the sh...\" with \U0001F44D"),
            (EMIL[1], "My server is at 203.0.113.45 if you need the logs"),
        ]),
        "polls.csv": _poll_csv_wide("Roadmap review", ["Which launch month works?", "Anything else?"], [
            (ALICE[1], ALICE[2], ["July", "No"]),
            (BRUNO[1], BRUNO[2], ["August", "Call me on 212-555-0199"]),
        ]),
        "whiteboards/board.json": builders.build_whiteboard_json([
            BoardElement("roadmap-kestrel", x=40, y=20),
            BoardElement("Q3: beta to 50 customers", x=40, y=80),
            BoardElement("Owner: Alice Johnson", x=300, y=80),
        ]),
        "uploads/plan.pdf": builders.build_pdf([
            "Roadmap kestrel plan. Budget owner Dana Whitfield.",
            "Vendor contact orders@contoso-example.org, wire to GB82 WEST 1234 5698 7654 32.",
        ]),
        "summary.json": _summary("Roadmap review", [
            "Team agreed roadmap-kestrel milestones for Q3.",
            "Alice Johnson will circulate the plan.",
        ]),
        "notes/scratch.txt": b"undeclared scratch notes\n",
    }
    meetings["m-001"] = (_meeting("m-001", "Roadmap review", "general", consenting, [
        _artifact("m-001-transcript", "transcript", "transcript.vtt"),
        _artifact("m-001-chat", "chat", "chat.txt"),
        _artifact("m-001-poll", "poll", "polls.csv"),
        _artifact("m-001-board", "whiteboard", "whiteboards/board.json", owner=ALICE[0]),
        _artifact("m-001-plan", "upload", "uploads/plan.pdf", owner=BRUNO[0]),
        _artifact("m-001-summary", "derived", "summary.json",
                  derived_from=["m-001-transcript", "m-001-chat"]),
    ]), files)

    # m-002: no consent at all (default deny).
    meetings["m-002"] = (_meeting("m-002", "Vendor call", "general", [ALICE, DANA], [
        _artifact("m-002-transcript", "transcript", "transcript.vtt"),
        _artifact("m-002-chat", "chat", "chat.txt"),
    ]), {
        "transcript.vtt": _vtt([(ALICE[1], "This nonconsent-heron call is confidential."),
                                (DANA[1], "My SSN is 078-05-1120 for the background check.")]),
        "chat.txt": _chat_tsv([(DANA[1], "nonconsent-heron pricing sheet attached")]),
    })

    # m-003: granted, then revoked by the account before the as-of time.
    meetings["m-003"] = (_meeting("m-003", "Pricing sync", "general", everyone, [
        _artifact("m-003-transcript", "transcript", "transcript.vtt"),
    ]), {"transcript.vtt": _vtt([(BRUNO[1], "The revoked-plover discount stays internal."),
                                 (CHIDI[1], "Agreed, revoked-plover is not for customers.")])})

    # m-004: telehealth without explicit special-category consent.
    meetings["m-004"] = (_meeting("m-004", "Clinic follow-up", "telehealth", [DANA, EMIL], [
        _artifact("m-004-transcript", "transcript", "transcript.vtt"),
    ]), {"transcript.vtt": _vtt([(DANA[1], "How is the telehealth-egret medication working?"),
                                 (EMIL[1], "Better, my blood pressure is down.")])})

    # m-005: one participant withdrew; their segments go, the summary goes too (rule 4).
    meetings["m-005"] = (_meeting("m-005", "Budget planning", "general", everyone, [
        _artifact("m-005-transcript", "transcript", "transcript.vtt"),
        _artifact("m-005-summary", "derived", "summary.md", derived_from=["m-005-transcript"]),
    ]), {
        "transcript.vtt": _vtt([(ALICE[1], "The budget-osprey line item is approved."),
                                (CHIDI[1], "I withdrawn-avocet want this off the record."),
                                (BRUNO[1], "budget-osprey spend starts in July.")]),
        "summary.md": b"# Budget planning\n\nThe budget-osprey item was approved; withdrawn-avocet comments noted.\n",
    })

    # m-006: legacy chat export with a direct message, and an SRT transcript.
    meetings["m-006"] = (_meeting("m-006", "Standup", "general", everyone, [
        _artifact("m-006-transcript", "transcript", "transcript.srt"),
        _artifact("m-006-chat", "chat", "chat.txt"),
    ]), {
        "transcript.srt": _srt([(ALICE[1], "Standup: roadmap-kestrel build is green."),
                                (BRUNO[1], "Emil's office is at 221B Baker Street, London.")]),
        "chat.txt": _chat_legacy([(ALICE[1], "Everyone", "gm, roadmap-kestrel demo at noon"),
                                  (BRUNO[1], ALICE[1], "direct-message-gannet: can we talk later?"),
                                  (CHIDI[1], "Everyone", "Call +44 20 7946 0958 for the bridge")]),
    })

    # m-007: malformed and hostile inputs; each must be dead-lettered with a reason.
    good_pdf = builders.build_pdf(["A page that will be cut short."])
    meetings["m-007"] = (_meeting("m-007", "Broken exports", "general", everyone, [
        _artifact("m-007-transcript", "transcript", "transcript.vtt"),
        _artifact("m-007-chat", "chat", "chat.txt"),
        _artifact("m-007-truncated", "upload", "uploads/truncated.pdf"),
        _artifact("m-007-bomb", "upload", "uploads/bomb.docx"),
        _artifact("m-007-escape", "upload", "../m-001/transcript.vtt"),
        _artifact("m-007-missing", "upload", "uploads/missing.pdf"),
        _artifact("m-007-odd", "recording", "recording.mp4"),
        _artifact("m-007-fakepdf", "upload", "uploads/notes.pdf"),
    ]), {
        "transcript.vtt": bytes(range(256)) * 8,
        "chat.txt": b"",
        "uploads/truncated.pdf": good_pdf[: len(good_pdf) // 2],
        "uploads/bomb.docx": builders.build_zip_bomb(),
        "uploads/notes.pdf": b"just text pretending to be a PDF\n",
        "recording.mp4": b"\x00\x00\x00\x18ftypmp42",
    })

    # m-008: documents: DOCX, PPTX, XLSX, HTML, Markdown; a JSON poll.
    meetings["m-008"] = (_meeting("m-008", "Design review", "general", everyone, [
        _artifact("m-008-docx", "upload", "uploads/spec.docx", owner=ALICE[0]),
        _artifact("m-008-pptx", "upload", "uploads/deck.pptx", owner=BRUNO[0]),
        _artifact("m-008-xlsx", "upload", "uploads/budget.xlsx", owner=CHIDI[0]),
        _artifact("m-008-html", "upload", "uploads/faq.html", owner=ALICE[0]),
        _artifact("m-008-md", "upload", "uploads/notes.md", owner=ALICE[0]),
        _artifact("m-008-poll", "poll", "poll.json"),
    ]), {
        "uploads/spec.docx": builders.build_docx(["roadmap-kestrel design spec",
                                                  "Reviewer: Bruno Martins (bruno.martins@northwind-example.com)"]),
        "uploads/deck.pptx": builders.build_pptx([["roadmap-kestrel", "Architecture overview"],
                                                  ["Next steps", "Ping Chidi Okafor at 212-555-0199"]]),
        "uploads/budget.xlsx": builders.build_xlsx([["item", "owner", "cost"],
                                                    ["budget-osprey servers", "Alice Johnson", "12000"]]),
        "uploads/faq.html": builders.build_html(["roadmap-kestrel FAQ", "Questions to alice.johnson@northwind-example.com"]),
        "uploads/notes.md": b"# Notes\n\nroadmap-kestrel review went well.\n\nCard on file 5500-0000-0000-0004.\n",
        "poll.json": _poll_json("Design vote", [
            (ALICE[1], ALICE[2], [("Preferred option?", "Option B")]),
            (CHIDI[1], CHIDI[2], [("Preferred option?", "Option A, email me at chidi.okafor@northwind-example.com")]),
        ]),
    })

    # m-009: consent expired before the as-of time.
    meetings["m-009"] = (_meeting("m-009", "Retro", "general", [ALICE, BRUNO], [
        _artifact("m-009-transcript", "transcript", "transcript.vtt"),
    ]), {"transcript.vtt": _vtt([(ALICE[1], "expired-tern retro notes."), (BRUNO[1], "expired-tern action items.")])})

    # m-010: meeting.json is not valid JSON.
    meetings["m-010"] = (None, {"meeting.json": b'{"meeting_id": "m-010", "participants": [',
                                "transcript.vtt": _vtt([(ALICE[1], "nonconsent-heron unreadable meeting")])})

    # m-011: whiteboards as SVG and PNG (OCR), explicit telehealth consent for everyone.
    meetings["m-011"] = (_meeting("m-011", "Care team huddle", "telehealth", [ALICE, EMIL], [
        _artifact("m-011-svg", "whiteboard", "whiteboards/board.svg", owner=ALICE[0]),
        _artifact("m-011-png", "whiteboard", "whiteboards/board.png", owner=EMIL[0]),
        _artifact("m-011-transcript", "transcript", "transcript.vtt"),
    ]), {
        "whiteboards/board.svg": builders.build_whiteboard_svg([
            BoardElement("roadmap-kestrel care pathway", x=20, y=30),
            BoardElement("Escalate to Emil Novak", x=20, y=70)]),
        "whiteboards/board.png": builders.build_whiteboard_png(["roadmap-kestrel", "triage board"]),
        "transcript.vtt": _vtt([(ALICE[1], "roadmap-kestrel huddle, explicit consent on file."),
                                (EMIL[1], "Understood.")]),
    })

    # m-012: Zoom transcript JSON with an unknown speaker, UTF-16 chat export.
    meetings["m-012"] = (_meeting("m-012", "Partner sync", "general", [ALICE, BRUNO], [
        _artifact("m-012-transcript", "transcript", "transcript.json"),
        _artifact("m-012-chat", "chat", "chat.txt"),
    ]), {
        "transcript.json": json.dumps({"timeline": [
            {"ts": "00:00:01.000", "end_ts": "00:00:04.000", "username": ALICE[1],
             "text": "roadmap-kestrel partner sync starts now."},
            {"ts": "00:00:05.000", "end_ts": "00:00:08.000", "username": "Guest Caller",
             "text": "I'm a guest without consent, nonconsent-heron."},
            {"ts": "00:00:09.000", "end_ts": "00:00:12.000", "username": BRUNO[1],
             "text": "Thanks, budget-osprey numbers next."},
        ]}, indent=2).encode("utf-8"),
        "chat.txt": _chat_tsv([
            (ALICE[1], "roadmap-kestrel notes in the doc"),
            (BRUNO[1], "budget-osprey sheet updated")]).decode("utf-8").encode("utf-16"),
    })
    return meetings


def _event(event_id: str, subject_type: str, subject_id: str, status: str, effective_at: str,
           kinds: Sequence[str] = ("*",), expires_at: str = None, special: bool = False) -> dict:
    event = {"event_id": event_id, "subject_type": subject_type, "subject_id": subject_id,
             "purpose": "ai_training", "artifact_kinds": list(kinds), "status": status,
             "effective_at": effective_at}
    if expires_at:
        event["expires_at"] = expires_at
    if special:
        event["special_category"] = True
    return event


def build_ledger() -> List[dict]:
    t0 = "2026-01-10T09:00:00Z"
    events = [
        # Participants: everyone but Dana grants; Chidi withdraws later for m-005 purposes.
        _event("ev-p-alice", "participant", ALICE[0], "granted", t0, special=True),
        _event("ev-p-bruno", "participant", BRUNO[0], "granted", t0),
        _event("ev-p-chidi", "participant", CHIDI[0], "granted", t0),
        _event("ev-p-emil", "participant", EMIL[0], "granted", t0, special=True),
        _event("ev-p-dana-refuse", "participant", DANA[0], "refused", t0),
        # Meeting-level grants.
        _event("ev-m-001", "meeting", "m-001", "granted", "2026-05-19T00:00:00Z"),
        _event("ev-m-003-grant", "meeting", "m-003", "granted", "2026-05-19T00:00:00Z"),
        _event("ev-m-003-revoke", "meeting", "m-003", "revoked", "2026-05-25T00:00:00Z"),
        _event("ev-m-004", "meeting", "m-004", "granted", "2026-05-19T00:00:00Z"),
        _event("ev-m-005", "meeting", "m-005", "granted", "2026-05-19T00:00:00Z"),
        _event("ev-m-006", "meeting", "m-006", "granted", "2026-05-19T00:00:00Z"),
        _event("ev-m-007", "meeting", "m-007", "granted", "2026-05-19T00:00:00Z"),
        _event("ev-m-008", "meeting", "m-008", "granted", "2026-05-19T00:00:00Z",
               kinds=("upload", "poll")),
        _event("ev-m-009", "meeting", "m-009", "granted", "2026-04-01T00:00:00Z",
               expires_at="2026-05-01T00:00:00Z"),
        _event("ev-m-011", "meeting", "m-011", "granted", "2026-05-19T00:00:00Z", special=True),
        _event("ev-m-012", "meeting", "m-012", "granted", "2026-05-19T00:00:00Z"),
        # An event after the examples' as-of time: ignored.
        _event("ev-m-002-future", "meeting", "m-002", "granted", "2026-07-01T00:00:00Z"),
    ]
    return events


def _withdraw_chidi_for(meeting_ids) -> List[dict]:
    """Chidi withdraws participant consent (effective before as-of)."""
    return [_event("ev-p-chidi-withdraw", "participant", CHIDI[0], "withdrawn", "2026-05-21T00:00:00Z")]


def write_ledger(events: List[dict], consent_dir: Path) -> None:
    consent_dir.mkdir(parents=True, exist_ok=True)
    with open(consent_dir / "ledger.jsonl", "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, sort_keys=True) + "\n")
    db_path = consent_dir / "ledger.sqlite"
    if db_path.exists():
        db_path.unlink()
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE consent_events (event_id TEXT PRIMARY KEY, subject_type TEXT NOT NULL, "
                   "subject_id TEXT NOT NULL, purpose TEXT NOT NULL, artifact_kinds TEXT NOT NULL, "
                   "status TEXT NOT NULL, effective_at TEXT NOT NULL, expires_at TEXT, special_category INTEGER)")
        db.executemany("INSERT INTO consent_events VALUES (?,?,?,?,?,?,?,?,?)", [
            (e["event_id"], e["subject_type"], e["subject_id"], e["purpose"], json.dumps(e["artifact_kinds"]),
             e["status"], e["effective_at"], e.get("expires_at"), int(bool(e.get("special_category"))))
            for e in events])


def generate(out: Path) -> None:
    meetings_dir = out / "meetings"
    if meetings_dir.exists():
        shutil.rmtree(meetings_dir)
    for meeting_id, (descriptor, files) in build_meetings().items():
        folder = meetings_dir / meeting_id
        folder.mkdir(parents=True)
        if descriptor is not None:
            (folder / "meeting.json").write_text(json.dumps(descriptor, indent=2) + "\n", encoding="utf-8")
        for relative, payload in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
    write_ledger(build_ledger() + _withdraw_chidi_for(["m-005"]), out / "consent")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent))
    args = parser.parse_args(argv)
    generate(Path(args.out))
    print(f"wrote sample meetings and ledger under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
