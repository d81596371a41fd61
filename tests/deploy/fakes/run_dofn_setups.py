"""Run ``setup()`` of serialized DoFns / CombineFns as a worker would: ``python run_dofn_setups.py
PAYLOADS SECRETS REPORT``, started by the test with a clean environment (PATH, HOME, PYTHONPATH).

PAYLOADS: JSON list of {"name", "kind": "dofn"|"combinefn", "payload": base64 of the pickled
function as the job graph carries it}. SECRETS: the offline Secret Manager's file (gcp_fakes).
REPORT: JSON {"environment": [variable names], "pid", "results": {name: "ok" | "ErrorClass: message"}}.
"""
import base64
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gcp_fakes import install_secret_manager  # noqa: E402


def _function(kind, payload):
    from apache_beam.internal import pickler

    loaded = pickler.loads(payload)
    if kind == "dofn":
        return loaded[0]          # (DoFn, args, kwargs, side inputs, windowing)
    return loaded


def main(payloads_file, secrets_file, report_file):
    install_secret_manager(secrets_file)
    results = {}
    for entry in json.loads(Path(payloads_file).read_text()):
        try:
            fn = _function(entry["kind"], base64.b64decode(entry["payload"]))
            fn.setup()
            fn.teardown()
            results[entry["name"]] = "ok"
        except Exception as exc:  # report, do not stop: every function is tried
            results[entry["name"]] = f"{type(exc).__name__}: {exc}"
    Path(report_file).write_text(json.dumps({"environment": sorted(os.environ), "pid": os.getpid(),
                                             "results": results}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
