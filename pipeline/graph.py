"""Build or translate the gatekeeper pipeline graph without running it.

Used to prove offline that the graph is distributable: ``build_graph`` attaches every stage
of one run (``pipeline.run.build_pipeline``) to a fresh ``beam.Pipeline``;
``translate_for_dataflow`` runs it through the DataflowRunner with ``--dry_run`` (the
runner's own translation: overrides, Runner v2 adjustments, Docker environment, job
proto), which submits nothing and needs no cloud account; ``transform_payloads`` opens the
serialized transform payloads (pickled DoFns, CombineFns, …) so that tests can check
what a worker would receive.

``python -m pipeline.graph --input gs://… --consent gs://… --output gs://… --project P
--region R --temp_location gs://BUCKET/tmp`` prints the top-level stages of the Dataflow job
(BUCKET must be a valid bucket name, or Beam tries to create a default bucket online).
"""
from __future__ import annotations

import base64
import binascii
import bz2
import re
import zlib
from dataclasses import dataclass
from typing import Iterator, List, Sequence, Tuple

import apache_beam as beam

from pipeline.options import RunOptions, beam_pipeline_options

DRY_RUN_FLAGS = ("--runner=DataflowRunner", "--dry_run=True")
# base64 runs long enough to hold a pickled function (Beam's pickler: bz2|zlib, then base64)
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{64,}={0,2}")


@dataclass(frozen=True)
class DataflowJobGraph:
    """What the DataflowRunner would submit: the Runner API pipeline and the job options."""

    job_name: str
    pipeline_proto: object          # beam_runner_api_pb2.Pipeline after Dataflow translation
    options: object                 # the PipelineOptions the job would carry

    def top_level_stages(self) -> List[str]:
        """Names of the stages applied directly to the pipeline (no '/' in the name)."""
        return sorted(t.unique_name for t in self.pipeline_proto.components.transforms.values()
                      if t.unique_name and "/" not in t.unique_name and not t.unique_name.startswith("ref_"))

    def transform_names(self) -> List[str]:
        return sorted(t.unique_name for t in self.pipeline_proto.components.transforms.values())

    def environments(self) -> List[Tuple[str, str]]:
        """(environment id, urn) of every environment the job uses."""
        return sorted((env_id, env.urn) for env_id, env in self.pipeline_proto.components.environments.items())


def build_graph(options: RunOptions, beam_args: Sequence[str] = ()) -> beam.Pipeline:
    """A ``beam.Pipeline`` with every stage of the run attached, not run."""
    from pipeline.run import build_pipeline

    pipeline = beam.Pipeline(options=beam_pipeline_options(list(beam_args)))
    build_pipeline(pipeline, options)
    return pipeline


def translate_for_dataflow(options: RunOptions, beam_args: Sequence[str]) -> DataflowJobGraph:
    """Translate the run for Dataflow without submitting it (``--dry_run``: no upload, no API call).

    ``beam_args`` must carry ``--project``, ``--region`` and ``--temp_location`` (any gs:// URI;
    nothing is read or written there in a dry run).
    """
    pipeline = build_graph(options, [*beam_args, *DRY_RUN_FLAGS])
    result = pipeline.run()
    job = result.job
    return DataflowJobGraph(job_name=job.proto.name, pipeline_proto=job.proto_pipeline, options=job.options)


def _decoded(blob: bytes) -> Iterator[bytes]:
    for match in _BASE64_RUN.finditer(blob):
        try:
            raw = base64.b64decode(match.group(0), validate=True)
        except (binascii.Error, ValueError):
            continue
        for decompress in (bz2.decompress, zlib.decompress):
            try:
                yield decompress(raw)
                break
            except (OSError, ValueError, zlib.error):
                continue


def transform_payloads(pipeline_proto) -> Iterator[Tuple[str, bytes]]:
    """(transform name, bytes) for every transform spec payload and every pickled object in it.

    Beam serializes user functions with its pickler (compressed, then base64) inside the
    ParDo/Combine payload protos; those are decoded here so that a search sees what a
    worker would unpickle.
    """
    for transform in pipeline_proto.components.transforms.values():
        payload = transform.spec.payload
        if not payload:
            continue
        yield transform.unique_name, payload
        for decoded in _decoded(payload):
            yield transform.unique_name, decoded


def find_in_payloads(pipeline_proto, needle: bytes) -> List[str]:
    """Names of the transforms whose (decoded) payload contains ``needle``."""
    return sorted({name for name, blob in transform_payloads(pipeline_proto) if needle in blob})


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import sys

    from pipeline.options import build_run_options, add_run_arguments

    parser = argparse.ArgumentParser(prog="python -m pipeline.graph", description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    args, beam_args = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    options = build_run_options(args, [a for a in beam_args if a != "--"])
    graph = translate_for_dataflow(options, [a for a in beam_args if a != "--"])
    print(f"job {graph.job_name}: {len(graph.transform_names())} transforms, environments "
          f"{', '.join(urn for _, urn in graph.environments())}")
    for name in graph.top_level_stages():
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
