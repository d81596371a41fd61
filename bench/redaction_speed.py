"""Redaction throughput on real meeting text, side by side, in one process on one core.

    python bench/redaction_speed.py DATA_DIR [--texts N] [--rounds R] [--out FILE]

Corpus: QMSum turns and Zoom VTT cue texts (bench.corpora.meeting_texts). Measured per
round, in rotating order: stock Presidio (AnalyzerEngine with default recognizers +
AnonymizerEngine, one call per text, same spaCy model), a bare spaCy pass
(``nlp.pipe(texts)`` with the model as loaded, all components), and our engine
(``redact_batch``). Prints chars/sec (median over rounds) and the two ratios.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import meeting_texts  # noqa: E402
from bench.redaction_quality import MODEL_PACKAGE, pin_one_core, stock_presidio  # noqa: E402


def _stock_runner() -> Callable[[Sequence[str]], None]:
    from presidio_anonymizer import AnonymizerEngine

    stock_presidio()  # installs the offline suffix list for the stock EmailRecognizer
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": MODEL_PACKAGE}]}).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine)
    anonymizer = AnonymizerEngine()

    def run(texts: Sequence[str]) -> None:
        for text in texts:
            anonymizer.anonymize(text=text, analyzer_results=analyzer.analyze(text=text, language="en"))
    return run


def _spacy_runner() -> Callable[[Sequence[str]], None]:
    import importlib

    nlp = importlib.import_module(MODEL_PACKAGE).load()

    def run(texts: Sequence[str]) -> None:
        for _ in nlp.pipe(texts):
            pass
    return run


def _ours_runner(config_path: str) -> Callable[[Sequence[str]], None]:
    from transforms.redaction.engine import RedactionEngine, RedactionRequest

    engine = RedactionEngine.load(config_path or None, b"benchmark-key-not-secret-000000", "dataset")

    def run(texts: Sequence[str]) -> None:
        engine.redact_batch([RedactionRequest(t, "bench") for t in texts])
    return run


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--config", default="")
    parser.add_argument("--out", type=Path, default=Path("bench/results/redaction_speed.json"))
    args = parser.parse_args(argv)
    pin_one_core()
    texts = meeting_texts(args.data_dir, args.texts)
    chars = sum(len(t) for t in texts)
    runners: Dict[str, Callable[[Sequence[str]], None]] = {
        "stock_presidio": _stock_runner(),
        "spacy_pipe": _spacy_runner(),
        "ours": _ours_runner(args.config),
    }
    for run in runners.values():       # warm-up
        run(texts[:50])
    rates: Dict[str, List[float]] = {name: [] for name in runners}
    names = list(runners)
    for round_index in range(args.rounds):
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            started = time.perf_counter()
            runners[name](texts)
            rates[name].append(chars / (time.perf_counter() - started))
    median = {name: statistics.median(values) for name, values in rates.items()}
    report = {
        "texts": len(texts), "chars": chars, "rounds": args.rounds,
        "chars_per_sec_median": {k: round(v) for k, v in median.items()},
        "ratio_vs_stock_presidio": round(median["ours"] / median["stock_presidio"], 3),
        "ratio_vs_spacy_pipe": round(median["ours"] / median["spacy_pipe"], 3),
        "ratios_per_round_vs_stock": [round(o / s, 3) for o, s in zip(rates["ours"], rates["stock_presidio"])],
        "ratios_per_round_vs_spacy": [round(o / s, 3) for o, s in zip(rates["ours"], rates["spacy_pipe"])],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
