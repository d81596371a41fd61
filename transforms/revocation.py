"""Revocation after publication: published keys in, tombstone rows out.

``ReadPublishedKeys`` lists the already-published segment files of an output tree on the
workers (``fileio.MatchFiles``, any Beam filesystem) and reads only the three key columns.
``TombstonesForRun`` joins them with this run's decisions (``ComputeTombstones``) and turns
the result into rows of the ``tombstone`` dataset.
"""
from __future__ import annotations

import hashlib

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.metrics import Metrics

from transforms.consent.tombstones import ComputeTombstones, Tombstone
from transforms.schemas import SEGMENT_DATASETS

KEY_COLUMNS = ["meeting_id", "artifact_id", "segment_id"]


class _ReadKeys(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        with readable.open() as handle:
            table = pq.read_table(handle, columns=KEY_COLUMNS)
        for meeting_id, artifact_id, segment_id in zip(*(table.column(c).to_pylist() for c in KEY_COLUMNS)):
            Metrics.counter("revocation", "published_keys").inc()
            yield meeting_id, artifact_id, segment_id


class ReadPublishedKeys(beam.PTransform):
    """PBegin → PCollection[(meeting_id, artifact_id, segment_id)] of published segments."""

    def __init__(self, output_uri: str):
        super().__init__()
        self._root = output_uri.rstrip("/")

    def expand(self, pbegin):
        patterns = [f"{self._root}/datasets/{kind}/run_date=*/*.parquet" for kind in SEGMENT_DATASETS]
        return (
            pbegin
            | "PublishedPatterns" >> beam.Create(patterns)
            | "MatchPublished" >> fileio.MatchAll(empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
            | "OpenPublished" >> fileio.ReadMatches()
            | "ReadPublishedKeys" >> beam.ParDo(_ReadKeys())
        )


def tombstone_row(tombstone: Tombstone) -> dict:
    digest = hashlib.sha256("\x1f".join(
        [tombstone.meeting_id, tombstone.artifact_id, tombstone.segment_id or ""]).encode()).hexdigest()[:32]
    return {
        "run_id": tombstone.run_id,
        "tombstone_id": digest,
        "meeting_id": tombstone.meeting_id,
        "artifact_id": tombstone.artifact_id,
        "segment_id": tombstone.segment_id,
        "reason": tombstone.reason,
        "event_ids": list(tombstone.event_ids),
    }


class TombstonesForRun(beam.PTransform):
    """{'decisions', 'meetings'} + the published output tree → PCollection[tombstone row]."""

    def __init__(self, output_uri: str, run_id: str):
        super().__init__()
        self._output = output_uri
        self._run_id = run_id

    def expand(self, inputs):
        published = inputs["decisions"].pipeline | "ReadPublishedKeys" >> ReadPublishedKeys(self._output)
        evaluated = inputs["meetings"] | "EvaluatedMeetingIds" >> beam.Map(lambda m: m.meeting_id)
        tombstones = {
            "published": published,
            "decisions": inputs["decisions"],
            "evaluated_meetings": evaluated,
        } | "ComputeTombstones" >> ComputeTombstones(self._run_id)
        return tombstones | "TombstoneRows" >> beam.Map(tombstone_row)
