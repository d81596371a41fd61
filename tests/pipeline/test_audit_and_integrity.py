"""Tamper evidence, consent re-audit and purge, end to end on local and gs:// outputs.

The real CLI runs in subprocesses. One run publishes the examples locally and one to a
Cloud Storage emulator; every test works on its own copy of that output (a fresh folder, or a
fresh prefix in the bucket), so no test sees another's changes. The oracle for the re-audit is
a second, independent pipeline run on the later ledger: the rows a withdrawal after
publication affects are exactly the published rows that run no longer publishes.
"""
from __future__ import annotations

import io
import json
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystems import FileSystems

from pipeline.integrity import verify_output
from pipeline.publish import list_files, live_files, read_parquet, relative_to, write_parquet
from pipeline.validation_cli import main_validate
from transforms.schemas import SEGMENT_DATASETS

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("gcs")]

from gatekeeper_cli import EXAMPLES, gatekeeper  # noqa: E402
from storage_emulator import BUCKET, storage_emulator  # noqa: E402

AS_OF, LATER = "2026-06-01T00:00:00Z", "2026-08-01T00:00:00Z"
LEDGER = EXAMPLES / "consent" / "ledger.jsonl"
# After publication: a participant withdraws everything; an account revokes its uploads.
WITHDRAWALS = [
    {"event_id": "ev-p-bruno-withdraw", "subject_type": "participant", "subject_id": "p-bruno",
     "purpose": "ai_training", "artifact_kinds": ["*"], "status": "withdrawn", "effective_at": "2026-07-01T00:00:00Z"},
    {"event_id": "ev-acct-northwind-revoke", "subject_type": "account", "subject_id": "acct-northwind",
     "purpose": "ai_training", "artifact_kinds": ["upload"], "status": "revoked", "effective_at": "2026-07-02T00:00:00Z"},
]


def _segment_keys(output: str) -> set:
    keys = set()
    root = output.rstrip("/")
    files = (live_files(root) if "://" in root else
             [str(p.relative_to(root)) for p in Path(root).glob("datasets/*/run_date=*/*.parquet")])
    for relative in files:
        if relative.split("/")[1] in SEGMENT_DATASETS:
            table = read_parquet(f"{root}/{relative}", columns=["meeting_id", "artifact_id", "segment_id"])
            keys |= set(zip(*(table.column(c).to_pylist() for c in table.column_names)))
    return keys


@pytest.fixture(scope="module")
def emulator():
    with storage_emulator() as env:
        yield env


@pytest.fixture(scope="module")
def published(tmp_path_factory, emulator):
    base = tmp_path_factory.mktemp("published")
    later = base / "ledger-later.jsonl"
    later.write_text(LEDGER.read_text() + "".join(json.dumps(e) + "\n" for e in WITHDRAWALS))
    local = base / "local"
    gs = f"gs://{BUCKET}/template-{uuid.uuid4().hex}"
    oracle = base / "oracle"
    for output, ledger, as_of in ((local, LEDGER, AS_OF), (gs, LEDGER, AS_OF), (oracle, later, LATER)):
        gatekeeper("run", "--input", str(EXAMPLES / "meetings"), "--consent", str(ledger), "--output", str(output),
                   "--as-of", as_of, "--quiet", env_overrides=emulator, check_code=0)
    expected = _segment_keys(str(local)) - _segment_keys(str(oracle))
    assert expected and _segment_keys(gs) == _segment_keys(str(local))
    return {"local": str(local), "gs": gs, "later": str(later), "expected": expected, "env": emulator}


@pytest.fixture(params=["local", "gs"])
def case(request, published, tmp_path):
    """A private copy of the published output, with the CLI bound to it."""
    if request.param == "local":
        output = str(tmp_path / "out")
        shutil.copytree(published["local"], output)
    else:
        output = f"gs://{BUCKET}/{uuid.uuid4().hex}/out"
        source = published["gs"]
        for found in list_files(f"{source}/**"):
            FileSystems.copy([found.path], [f"{output}/{relative_to(source, found.path)}"])

    def cli(*args, check_code=None):
        return gatekeeper(*args, env_overrides=published["env"], check_code=check_code)

    return {"output": output, "cli": cli, "later": published["later"], "expected": published["expected"],
            "local": request.param == "local"}


def _file(output: str, dataset: str) -> str:
    return sorted(r for r in live_files(output) if r.split("/")[1] == dataset)[0]


def _verify(case):
    return case["cli"]("files", "--output", case["output"], "--verify")


def _validate(case):
    return case["cli"]("validate", case["output"])


def test_a_clean_output_verifies_and_validates(case):
    verified = _verify(case)
    assert verified.returncode == 0, verified.stderr
    assert "verify passed" in verified.stderr and len(verified.stdout.splitlines()) == len(live_files(case["output"]))
    manifest_files = [m.path for m in list_files(f"{case['output']}/runs/*/manifest.json")]
    manifest = json.loads(FileSystems.open(manifest_files[0]).read())
    for relative in (f for entry in manifest["datasets"].values() for f in entry["files"]):
        record = manifest["file_integrity"][relative]
        assert set(record) == {"bytes", "rows", "sha256", "schema"} and len(record["sha256"]) == 64
    assert _validate(case).returncode == 0


def test_a_file_edited_without_a_schema_change_exits_3_naming_it(case):
    output = case["output"]
    relative = _file(output, "chat")
    table = read_parquet(f"{output}/{relative}")
    rows = table.to_pylist()
    rows[0]["text"] = "reach me at jane.roe@example.com or (415) 555-0132"
    write_parquet(pa.Table.from_pylist(rows, schema=table.schema), f"{output}/{relative}")
    assert read_parquet(f"{output}/{relative}").schema.equals(table.schema)

    validated = _validate(case)
    assert validated.returncode == 3
    assert f"{relative}: changed (" in validated.stdout and "sha256" in validated.stdout
    verified = _verify(case)
    assert verified.returncode == 3 and verified.stdout == ""       # nothing listed: fail closed
    assert f"{relative}: changed (" in verified.stderr and "sha256" in verified.stderr
    assert "jane.roe" not in validated.stdout + verified.stderr


def _in_process(case):
    """validate and verify in this process (the CLI's code without a subprocess' start-up)."""
    out = io.StringIO()
    code = main_validate(case["output"], out=out)
    return code, out.getvalue(), verify_output(case["output"])


def test_a_deleted_file_exits_3_naming_it(case):
    relative = _file(case["output"], "transcript")
    FileSystems.delete([f"{case['output']}/{relative}"])
    code, printed, verified = _in_process(case)
    assert code == 3 and f"{relative}: missing" in printed
    assert not verified.ok and [p.line() for p in verified.problems] == [f"{relative}: missing (committed, not found)"]


def test_an_extra_file_exits_3_naming_it(case):
    source = _file(case["output"], "poll")
    extra = f"{source.rsplit('/', 1)[0]}/part-extra-00000.parquet"
    FileSystems.copy([f"{case['output']}/{source}"], [f"{case['output']}/{extra}"])
    code, printed, verified = _in_process(case)
    assert code == 3 and f"{extra}: unexpected" in printed
    assert not verified.ok and [(p.path, p.problem) for p in verified.problems] == [(extra, "unexpected")]


def test_audit_passes_while_consent_holds(case):
    audited = case["cli"]("audit", "--output", case["output"], "--consent", str(LEDGER), "--as-of", AS_OF)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "0 no longer allowed" in audited.stdout


def test_audit_finds_every_row_a_withdrawal_after_publication_affects_and_only_those(case):
    audited = case["cli"]("audit", "--output", case["output"], "--consent", case["later"], "--as-of", LATER, "--json")
    assert audited.returncode == 3, audited.stderr
    report = json.loads(audited.stdout)
    found = {(f["meeting_id"], f["artifact_id"], f["segment_id"]) for f in report["findings"]}
    assert found == case["expected"]
    reasons = {f["reason"] for f in report["findings"]}
    assert {"participant_withdrawn", "revoked"} <= reasons
    assert all(f["basis"] == "subjects" for f in report["findings"])
    # ids and reason codes only: no published text, no speaker pseudonym
    texts = set()
    for relative in live_files(case["output"]):
        if relative.split("/")[1] in SEGMENT_DATASETS:
            table = read_parquet(f"{case['output']}/{relative}", columns=["text", "speaker"])
            texts |= {v for c in table.columns for v in c.to_pylist() if v and len(v) > 8}
    assert texts and not [t for t in texts if t in audited.stdout]


def test_tombstones_from_the_audit_purge_and_verify(case):
    from pipeline.audit import audit_output
    from pipeline.options import parse_timestamp

    output, cli = case["output"], case["cli"]
    before, keys_before = set(live_files(output)), _segment_keys(output)
    tombstoned = cli("audit", "--output", output, "--consent", case["later"], "--as-of", LATER, "--tombstone")
    assert tombstoned.returncode == 3 and "tombstones committed" in tombstoned.stdout
    assert verify_output(output).ok                       # the tombstone file is committed
    cli("purge", "--output", output, check_code=0)
    after = set(live_files(output))
    assert _segment_keys(output) == keys_before - case["expected"]
    verified = _verify(case)
    assert verified.returncode == 0, verified.stderr
    code, printed, _ = _in_process(case)
    assert code == 0, printed
    assert audit_output(output, case["later"], parse_timestamp(LATER, "as_of")).findings == []
    if not case["local"]:
        # an object store is never rewritten in place: purged copies have new names, and the
        # files they replace are gone
        replaced = {r for r in before - after if r.split("/")[1] in SEGMENT_DATASETS}
        assert replaced and all("/part-purge-" in r for r in after - before if "/tombstone/" not in r)
        objects = {relative_to(output, m.path) for m in list_files(f"{output}/datasets/**")}
        assert not replaced & objects


def test_rows_published_before_subject_records_are_checked_on_their_recorded_events(published, tmp_path):
    """An output whose audit rows lack the subject columns (published before they existed)."""
    from pipeline.audit import audit_output
    from pipeline.options import parse_timestamp
    from transforms.schemas import accepted_schemas

    output = tmp_path / "legacy"
    shutil.copytree(published["local"], output)
    legacy = accepted_schemas("audit")[1]
    for path in output.glob("datasets/audit/run_date=*/*.parquet"):
        pq.write_table(pq.read_table(path).select(legacy.names).cast(legacy), path)
    result = audit_output(str(output), published["later"], parse_timestamp(LATER, "as_of"))
    found = {(f.meeting_id, f.artifact_id, f.segment_id): f for f in result.findings}
    assert result.rows_recorded_basis == result.rows_checked > 0
    assert set(found) <= published["expected"]                      # nothing that still holds
    assert all(f.basis == "recorded_events" for f in found.values())
    # every row the participant's withdrawal affects is found (the participant's event is recorded) ...
    current = audit_output(published["local"], published["later"], parse_timestamp(LATER, "as_of"))
    withdrawn = {(f.meeting_id, f.artifact_id, f.segment_id) for f in current.findings
                 if f.reason == "participant_withdrawn"}
    assert withdrawn and withdrawn <= set(found)
    # ... while an account whose id those rows never recorded is beyond this check
    assert "revoked" in {f.reason for f in current.findings}
