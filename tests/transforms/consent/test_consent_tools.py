"""The benchmark (tiny) and the ledger tools, run for real."""
import json

from bench.consent_join import main as bench_main
from consent_factories import event
from examples.ledger_tools import main as tools_main
from transforms.consent.ledger import load_ledger_events
from transforms.consent.ledger_writers import write_ledger


def test_benchmark_runs_tiny(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench_main(["--events", "600", "--artifacts", "36", "--meetings", "6", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["ledger_rows_read"] == 600 and report["ledger_errors"] == 0
    assert report["artifacts"] == 36
    assert sum(report["artifact_decisions"].values()) == 36
    assert report["gated_artifacts"] == report["artifact_decisions"].get("granted", 0)
    assert report["peak_rss_self_mib"] > 0
    assert json.loads(capsys.readouterr().out) == report


def test_ledger_tools_check_and_convert(tmp_path, capsys):
    events = [event("e1", "account", "acc1"), event("e2", "participant", "p1", "withdrawn")]
    source = tmp_path / "ledger.jsonl"
    write_ledger(events, str(source))
    assert tools_main(["check", str(source)]) == 0
    target = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert tools_main(["convert", str(source), target]) == 0
    assert sorted(load_ledger_events(target), key=lambda e: e.event_id) == events
    bad = tmp_path / "bad.jsonl"
    bad.write_text(source.read_text() + '{"event_id": "e3", "subject_type": "alien"}\n')
    capsys.readouterr()
    assert tools_main(["check", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == f"consent ledger error: {bad} row 3: invalid_field:subject_type"
    assert tools_main(["check", str(tmp_path / "absent.csv")]) == 2
