"""ReadMeetingArtifacts: meeting folders on any Beam filesystem → Artifacts, with dead letters.

1. ``MatchFiles(INPUT/**)`` lists every file on the workers (no driver-side globbing).
2. Files are keyed by their meeting folder and grouped: one element per meeting.
3. Per meeting, ``meeting.json`` is read and validated; each declared artifact becomes a work
   item, undeclared files are accounted as skipped, missing or escaping paths dead-lettered.
4. Work items are reshuffled so parsing fans out, then each file is read with
   ``transforms.input_files.open_input`` (local files: component by component, never
   following a symbolic link; ``gs://``: ``FileSystems.open``) and handed to
   ``transforms.parsers.parse_artifact``.

One meeting never sinks the run: whatever goes wrong while planning a meeting folder
dead-letters that folder's files. Ids are checked before anything is published
(``transforms.ids``): a folder whose name is not a safe id, a meeting whose ``meeting_id`` is
unsafe or not its folder's name, and meetings whose ids differ only in case are dead-lettered
whole, each with its own reason; an unsafe ``artifact_id`` dead-letters that artifact.
Segment ids are ``<meeting_id>/<artifact_id>:<index>``, unique across meetings by construction.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime
from typing import FrozenSet, List, Optional

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.metrics import Metrics

from pipeline.config import IngestLimits
from transforms.meeting_descriptor import (
    DESCRIPTOR_NAME,
    MeetingDescriptorError,
    meeting_date,
    parse_meeting_descriptor,
    resolve_artifact_path,
)
from transforms.ids import WITHHELD_ID, is_safe_id, matches_safe_pattern, published_or_withheld
from transforms.input_files import has_symlink_component, open_input
from transforms.parsers.base import ArtifactRejected
from transforms.records import (
    Artifact,
    ArtifactDeclaration,
    ArtifactKind,
    DeadLetter,
    DeadLetterReason,
    Meeting,
    Segment,
    SkippedFile,
    SkipReason,
)

TAG_MEETINGS = "meetings"
TAG_DEAD_LETTERS = "dead_letters"
TAG_SKIPPED = "skipped"
STAGE = "ingest"
_READ_CHUNK = 1 << 20


def fingerprint_uri(uri: str) -> str:
    # surrogatepass: a local file name that is not UTF-8 reaches Python with surrogate escapes
    return hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()


# Extensions recorded in dead letters and skip records; anything else is "other", because a
# free-form "extension" can be part of a file name (and file names can name people).
KNOWN_EXTENSIONS = frozenset({
    "vtt", "srt", "sbv", "json", "txt", "csv", "tsv", "md", "markdown", "html", "htm", "pdf", "docx",
    "pptx", "xlsx", "doc", "ppt", "xls", "svg", "png", "jpg", "jpeg", "gif", "webp", "tif", "tiff",
    "mp4", "m4a", "mp3", "wav", "zip", "xml", "rtf", "odt", "parquet", "jsonl", "log", "bin", "dat",
})


def _extension(path: str) -> Optional[str]:
    ext = posixpath.splitext(path)[1].lower().lstrip(".")
    if not ext:
        return None
    return ext if ext in KNOWN_EXTENSIONS else "other"


def _known_kind(declared: str) -> Optional[str]:
    try:
        return ArtifactKind.parse(declared).value
    except ValueError:
        return None


def _normalise_root(input_uri: str) -> str:
    return input_uri if input_uri.endswith("/") else input_uri + "/"


def _dead_letter(meeting_id: str, artifact_id: Optional[str], uri: str, reason: DeadLetterReason,
                 error_class: str, kind: Optional[str] = None) -> DeadLetter:
    return DeadLetter(
        meeting_id=meeting_id,
        artifact_id=artifact_id,
        source_fingerprint=fingerprint_uri(uri),
        stage=STAGE,
        reason=reason,
        error_class=error_class,
        kind=kind,
        extension=_extension(uri),
    )


class KeyByMeetingFolder(beam.DoFn):
    """FileMetadata → (meeting folder name, FileMetadata); files at the root are skipped.

    A folder whose name is not a safe id (``transforms.ids``; that includes names that are not
    UTF-8) cannot be its meeting's id: its files are dead-lettered here (``unsafe_id``, meeting
    id withheld), never grouped under a key nothing downstream could encode or publish.
    """

    def __init__(self, root: str):
        self._root = root

    def process(self, metadata: FileMetadata):
        Metrics.counter("ingest", "files_matched").inc()
        path = metadata.path
        relative = path[len(self._root):] if path.startswith(self._root) else path
        if os.sep == "\\" and "://" not in path:   # pragma: no cover (Windows local paths)
            relative = relative.replace("\\", "/")
        folder, sep, _ = relative.partition("/")
        if not sep:
            yield beam.pvalue.TaggedOutput(
                TAG_SKIPPED,
                SkippedFile(meeting_id="", source_fingerprint=fingerprint_uri(path),
                            reason=SkipReason.OUTSIDE_MEETING_FOLDER, extension=_extension(path)),
            )
            return
        if not matches_safe_pattern(folder):
            Metrics.counter("ingest", f"dead_letter.{DeadLetterReason.UNSAFE_ID.value}").inc()
            yield beam.pvalue.TaggedOutput(TAG_DEAD_LETTERS, _dead_letter(
                WITHHELD_ID, None, path, DeadLetterReason.UNSAFE_ID, "UnsafeFolderName"))
            return
        yield folder, metadata


@dataclass(frozen=True)
class MeetingSelection:
    """Which meetings a run processes, by the UTC date they started on.

    ``dates`` None means every date. ``changed_since`` (``--since last-success``) keeps only
    dates with a meeting whose files changed after it, or whose consent subjects have ledger
    events taking effect (or expiring) after it; every meeting of a selected date is then
    reprocessed, so the date's partition can be replaced whole.
    """

    dates: Optional[FrozenSet[str]] = None
    changed_since: Optional[datetime] = None


_MEETING, _WORK, _DEAD, _SKIP, _CHANGE = "meeting", "work", "dead", "skip", "change"
_DEAD_FILE = "dead_file"   # a dead letter that stands for a listed file of the folder


class PlanMeetingFn(beam.DoFn):
    """(folder, [FileMetadata]) → (tag, meeting date, record) for every file of the meeting.

    Tags: meeting, work (a file to parse), dead (a dead letter standing for no listed file:
    missing, escaping, duplicate declaration), dead_file (a dead letter standing for a listed
    file), skip, change (the meeting's files changed after ``changed_since``). Meetings
    rejected whole have no date (always selected): every file of their folder is dead-lettered
    with the meeting's reason. Any unexpected error planning a folder does the same
    (``internal_error``), so one meeting never sinks the run.
    """

    def __init__(self, root: str, limits: IngestLimits, selection: MeetingSelection):
        self._root = root
        self._limits = limits
        self._selection = selection

    def process(self, element):
        folder, metadatas = element
        metadatas = list(metadatas)
        try:
            planned = list(self._plan(folder, metadatas))
        except Exception as exc:  # a bug must not crash the run nor lose the folder's files
            Metrics.counter("ingest", "dead_letter.internal_error").inc()
            planned = [(_DEAD, None, _dead_letter(folder, None, m.path, DeadLetterReason.INTERNAL_ERROR,
                                                  type(exc).__name__)) for m in metadatas]
        yield from planned

    def _read_descriptor(self, descriptor: Optional[FileMetadata], folder_uri: str) -> Meeting:
        if descriptor is None:
            raise MeetingDescriptorError("meeting.json is missing")
        if descriptor.size_in_bytes > self._limits.max_file_bytes:
            raise MeetingDescriptorError("meeting.json is oversized")
        try:
            payload = read_bounded(descriptor.path, self._limits.max_file_bytes, root=self._root)
        except ArtifactRejected as rejected:
            if rejected.reason is DeadLetterReason.OVERSIZED:
                raise MeetingDescriptorError("meeting.json is oversized") from None
            raise
        return parse_meeting_descriptor(payload, folder_uri=folder_uri)

    @staticmethod
    def _meeting_problem(folder: str, meeting: Meeting):
        """(reason, error class) when the meeting's id rules it out as a whole, else None."""
        if not is_safe_id(meeting.meeting_id, meeting.participants):
            return DeadLetterReason.UNSAFE_ID, "UnsafeId"
        if meeting.meeting_id != folder:
            return DeadLetterReason.MEETING_ID_MISMATCH, "MeetingIdMismatch"
        return None

    def _plan(self, folder: str, metadatas: List[FileMetadata]):
        folder_uri = self._root + folder + "/"
        files = {m.path[len(folder_uri):]: m for m in metadatas if m.path.startswith(folder_uri)}
        descriptor = files.pop(DESCRIPTOR_NAME, None)
        label, rejection, meeting = folder, None, None
        try:
            meeting = self._read_descriptor(descriptor, folder_uri)
        except MeetingDescriptorError as exc:
            rejection = (exc.reason, type(exc).__name__)
        except ArtifactRejected as rejected:   # meeting.json is a link or not a regular file
            rejection = (rejected.reason, rejected.error_class)
        except OSError as exc:
            rejection = (DeadLetterReason.MALFORMED_MEETING, type(exc).__name__)
        if meeting is not None:
            label = published_or_withheld(folder, meeting.participants)
            rejection = self._meeting_problem(folder, meeting)
        if rejection is not None:
            reason, error_class = rejection
            Metrics.counter("ingest", "malformed_meetings" if meeting is None else "rejected_meetings").inc()
            uris = [m.path for m in metadatas] or [folder_uri + DESCRIPTOR_NAME]
            for uri in uris:
                yield _DEAD, None, _dead_letter(label, None, uri, reason, error_class)
            return
        date = meeting_date(meeting)
        all_files = [descriptor, *files.values()]
        if self._selection.dates is not None and date not in self._selection.dates:
            for metadata in all_files:
                yield _SKIP, date, _not_selected(meeting.meeting_id, metadata.path)
            return
        if self._selection.changed_since is not None:
            since = self._selection.changed_since.timestamp()
            if any((m.last_updated_in_seconds or 0) > since for m in all_files):
                yield _CHANGE, date, meeting.meeting_id
        yield _MEETING, date, meeting
        yield _SKIP, date, SkippedFile(meeting.meeting_id, fingerprint_uri(descriptor.path),
                                       SkipReason.MEETING_DESCRIPTOR, "json")
        claimed = set()
        roster = meeting.participants
        for declaration in meeting.artifacts:
            relative = resolve_artifact_path(declaration.path)
            uri = folder_uri + (relative or declaration.path)
            kind = _known_kind(declaration.kind)
            id_safe = is_safe_id(declaration.artifact_id, roster) and all(
                is_safe_id(source, roster) for source in declaration.derived_from)
            rejection = None
            if not id_safe:
                rejection = (DeadLetterReason.UNSAFE_ID, "UnsafeId")
            elif relative is None:
                rejection = (DeadLetterReason.PATH_ESCAPE, "PathEscape")
            elif kind is None:
                rejection = (DeadLetterReason.UNKNOWN_KIND, "UnknownKind")
            elif relative in claimed:
                rejection = (DeadLetterReason.DUPLICATE_DECLARATION, "DuplicateDeclaration")
            elif relative not in files:
                rejection = ((DeadLetterReason.SYMLINK, "SymlinkRefused") if has_symlink_component(self._root, uri)
                             else (DeadLetterReason.MISSING_FILE, "FileNotFound"))
            stands_for_file = relative is not None and relative in files and relative not in claimed
            if relative is not None:
                claimed.add(relative)
            if rejection:
                artifact_id = declaration.artifact_id if id_safe else None
                yield (_DEAD_FILE if stands_for_file else _DEAD), date, _dead_letter(
                    meeting.meeting_id, artifact_id, uri, rejection[0], rejection[1], kind)
                continue
            yield _WORK, date, (meeting, declaration, files[relative])
        for relative, metadata in sorted(files.items()):
            if relative not in claimed:
                yield _SKIP, date, SkippedFile(meeting.meeting_id, fingerprint_uri(metadata.path),
                                               SkipReason.UNDECLARED, _extension(metadata.path))


def _not_selected(meeting_id: str, uri: str) -> SkippedFile:
    return SkippedFile(meeting_id, fingerprint_uri(uri), SkipReason.NOT_SELECTED, _extension(uri))


def _planned_meeting_id(tag: str, record) -> Optional[str]:
    if tag == _MEETING:
        return record.meeting_id
    if tag == _WORK:
        return record[0].meeting_id
    if tag == _CHANGE:
        return record
    return record.meeting_id


class RouteSelectedFn(beam.DoFn):
    """Send planned records of selected dates on; turn the others into NOT_SELECTED skips.

    ``duplicate_ids``: lower-cased meeting ids that more than one folder holds (ids that
    differ only in case are confusable, and a ledger or a reader may fold case): every
    file of those meetings is dead-lettered ``duplicate_meeting_id`` and none is evaluated.
    """

    def process(self, planned, selected_dates=None, duplicate_ids=()):
        tag, date, record = planned
        if duplicate_ids and date is not None and _planned_meeting_id(tag, record).lower() in duplicate_ids:
            yield from self._duplicate(tag, record)
            return
        if tag == _CHANGE:
            return
        if date is not None and selected_dates is not None and date not in selected_dates:
            # Account for each file of the meeting once, as not selected. Dead letters that
            # stand for no file of the folder (missing, escaping, duplicate) simply vanish.
            if tag == _WORK:
                yield beam.pvalue.TaggedOutput(TAG_SKIPPED, _not_selected(record[0].meeting_id, record[2].path))
            elif tag == _SKIP:
                yield beam.pvalue.TaggedOutput(TAG_SKIPPED, dataclasses.replace(record, reason=SkipReason.NOT_SELECTED))
            elif tag == _DEAD_FILE:
                yield beam.pvalue.TaggedOutput(TAG_SKIPPED, SkippedFile(
                    record.meeting_id, record.source_fingerprint, SkipReason.NOT_SELECTED, record.extension))
            return
        if tag == _MEETING:
            Metrics.counter("ingest", "meetings").inc()
            yield beam.pvalue.TaggedOutput(TAG_MEETINGS, record)
        elif tag in (_DEAD, _DEAD_FILE):
            Metrics.counter("ingest", f"dead_letter.{record.reason.value}").inc()
            yield beam.pvalue.TaggedOutput(TAG_DEAD_LETTERS, record)
        elif tag == _SKIP:
            yield beam.pvalue.TaggedOutput(TAG_SKIPPED, record)
        else:
            yield record

    @staticmethod
    def _duplicate(tag: str, record):
        """Each file of a meeting whose id another folder also holds, as a dead letter."""
        reason = DeadLetterReason.DUPLICATE_MEETING_ID
        if tag == _WORK:
            meeting, _, metadata = record
            dead = _dead_letter(meeting.meeting_id, None, metadata.path, reason, "DuplicateMeetingId")
        elif tag in (_SKIP, _DEAD_FILE):
            dead = DeadLetter(record.meeting_id, None, record.source_fingerprint, STAGE, reason,
                              "DuplicateMeetingId", None, record.extension)
        else:   # the meeting itself, a change mark, dead letters standing for no file
            return
        Metrics.counter("ingest", f"dead_letter.{reason.value}").inc()
        yield beam.pvalue.TaggedOutput(TAG_DEAD_LETTERS, dead)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode_text(text: Optional[str]) -> Optional[str]:
    """Text with lone surrogates (JSON exports can hold half an emoji as ``\\ud83d``) replaced by
    U+FFFD: nothing downstream (Beam's coders, Parquet) can encode them, and one such character
    must not cost the whole artifact, let alone the run."""
    if text is None or not _LONE_SURROGATE.search(text):
        return text
    Metrics.counter("ingest", "lone_surrogates_replaced").inc()
    return _LONE_SURROGATE.sub("\ufffd", text)


def segment_id(meeting_id: str, artifact_id: str, index: int) -> str:
    """Unique across meetings by construction: safe ids hold neither ``/`` nor ``:``."""
    return f"{meeting_id}/{artifact_id}:{index:05d}"


def build_artifact(meeting: Meeting, declaration: ArtifactDeclaration, uri: str, payload: bytes,
                   limits: IngestLimits) -> Artifact:
    """Parse one file into an Artifact. Raises ArtifactRejected for bad input."""
    from transforms.parsers import parse_artifact  # heavy optional deps load lazily

    kind = ArtifactKind.parse(declaration.kind)
    document = parse_artifact(
        payload,
        kind=kind.value,
        filename=posixpath.basename(uri),
        roster=meeting.participants,
        limits=limits,
        owner_participant_id=declaration.owner_participant_id,
    )
    segments = tuple(
        Segment(
            segment_id=segment_id(meeting.meeting_id, declaration.artifact_id, index),
            participant_id=parsed.participant_id,
            speaker_label=_unicode_text(parsed.speaker_label),
            start_ms=parsed.start_ms,
            end_ms=parsed.end_ms,
            text=_unicode_text(parsed.text),
            direct_message=parsed.direct_message,
        )
        for index, parsed in enumerate(document.segments)
    )
    return Artifact(
        artifact_id=declaration.artifact_id,
        meeting_id=meeting.meeting_id,
        kind=kind,
        source_uri=uri,
        derived_from=declaration.derived_from,
        fingerprint=hashlib.sha256(payload).hexdigest(),
        source_format=document.source_format,
        segments=segments,
        owner_participant_id=declaration.owner_participant_id,
        encoding=document.encoding,
        encoding_fallback=document.encoding_fallback,
    )


def read_bounded(uri: str, limit: int, root: Optional[str] = None) -> bytes:
    """Read at most ``limit`` bytes; raise ArtifactRejected(OVERSIZED) beyond that.

    The file is opened with ``open_input(root, uri)``: no symbolic link below ``root`` (by
    default the file's own folder) is followed.
    """
    chunks: List[bytes] = []
    total = 0
    if root is None:
        root = posixpath.dirname(uri) + "/"
    with open_input(root, uri) as handle:
        while True:
            chunk = handle.read(_READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise ArtifactRejected(DeadLetterReason.OVERSIZED, "SizeLimitExceeded")
            chunks.append(chunk)
    return b"".join(chunks)


class ParseArtifactFn(beam.DoFn):
    """(Meeting, ArtifactDeclaration, FileMetadata) → Artifact, or a DeadLetter (tagged).

    ``root``: the input folder, below which no symbolic link is followed (default: the
    folder holding the meeting's folder).
    """

    def __init__(self, limits: IngestLimits, root: Optional[str] = None):
        self._limits = limits
        self._root = root

    def setup(self):
        import transforms.parsers  # noqa: F401  (warm imports once per worker)

    def process(self, element):
        meeting, declaration, metadata = element
        uri = metadata.path
        kind = _known_kind(declaration.kind)
        try:
            if metadata.size_in_bytes > self._limits.max_file_bytes:
                raise ArtifactRejected(DeadLetterReason.OVERSIZED, "SizeLimitExceeded")
            root = self._root or posixpath.dirname(meeting.folder_uri.rstrip("/")) + "/"
            payload = read_bounded(uri, self._limits.max_file_bytes, root=root)
            artifact = build_artifact(meeting, declaration, uri, payload, self._limits)
        except ArtifactRejected as rejected:
            Metrics.counter("ingest", f"dead_letter.{rejected.reason.value}").inc()
            yield beam.pvalue.TaggedOutput(TAG_DEAD_LETTERS, _dead_letter(
                meeting.meeting_id, declaration.artifact_id, uri, rejected.reason, rejected.error_class, kind))
            return
        except OSError as exc:
            Metrics.counter("ingest", "dead_letter.read_error").inc()
            yield beam.pvalue.TaggedOutput(TAG_DEAD_LETTERS, _dead_letter(
                meeting.meeting_id, declaration.artifact_id, uri, DeadLetterReason.READ_ERROR,
                type(exc).__name__, kind))
            return
        except Exception as exc:  # a parser bug must not crash the run nor lose the file
            Metrics.counter("ingest", "dead_letter.internal_error").inc()
            yield beam.pvalue.TaggedOutput(TAG_DEAD_LETTERS, _dead_letter(
                meeting.meeting_id, declaration.artifact_id, uri, DeadLetterReason.INTERNAL_ERROR,
                type(exc).__name__, kind))
            return
        Metrics.counter("ingest", f"artifacts.{artifact.kind.value}").inc()
        Metrics.counter("ingest", "segments").inc(len(artifact.segments))
        if artifact.encoding_fallback:
            Metrics.counter("ingest", "encoding_fallback").inc()
        yield artifact


class ReadMeetingArtifacts(beam.PTransform):
    """PBegin → {'artifacts', 'meetings', 'dead_letters', 'skipped', 'dates'}.

    ``dates`` holds the meeting dates this run processes (one element each). With
    ``selection.changed_since`` set, ``changed_subjects`` (ledger subject keys whose consent
    changed after it) also marks the dates of the meetings they concern as changed.
    """

    def __init__(self, input_uri: str, limits: IngestLimits, selection: MeetingSelection = MeetingSelection(),
                 changed_subjects: Optional[beam.PCollection] = None):
        super().__init__()
        self._root = _normalise_root(input_uri)
        self._limits = limits
        self._selection = selection
        self._changed_subjects = changed_subjects

    def expand(self, pbegin):
        keyed = (
            pbegin
            | "MatchInputFiles" >> fileio.MatchFiles(self._root + "**",
                                                     empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
            | "KeyByMeeting" >> beam.ParDo(KeyByMeetingFolder(self._root)).with_outputs(
                TAG_SKIPPED, TAG_DEAD_LETTERS, main="keyed")
        )
        planned = (
            keyed.keyed
            | "GroupFilesByMeeting" >> beam.GroupByKey()
            | "PlanMeetings" >> beam.ParDo(PlanMeetingFn(self._root, self._limits, self._selection))
        )
        duplicates = (
            planned
            | "MeetingIdsFolded" >> beam.FlatMap(lambda p: [(p[2].meeting_id.lower(), 1)] if p[0] == _MEETING else [])
            | "CountMeetingIds" >> beam.CombinePerKey(sum)
            | "DuplicateMeetingIds" >> beam.FlatMap(lambda kv: [kv[0]] if kv[1] > 1 else [])
        )
        side_inputs = {"duplicate_ids": beam.pvalue.AsList(duplicates)}
        if self._selection.changed_since is not None:
            selected = self._changed_dates(planned)
            side_inputs["selected_dates"] = beam.pvalue.AsList(selected)
        else:
            selected = planned | "PlannedDates" >> beam.FlatMap(
                lambda p: [p[1]] if p[0] == _MEETING else []) | "DistinctDates" >> beam.Distinct()
        routed = planned | "RouteSelected" >> beam.ParDo(RouteSelectedFn(), **side_inputs).with_outputs(
            TAG_MEETINGS, TAG_DEAD_LETTERS, TAG_SKIPPED, main="work")
        parsed = (
            routed.work
            | "SpreadParseWork" >> beam.Reshuffle()
            | "ParseArtifacts" >> beam.ParDo(ParseArtifactFn(self._limits, self._root)).with_outputs(
                TAG_DEAD_LETTERS, main="artifacts")
        )
        dead_letters = (keyed[TAG_DEAD_LETTERS], routed[TAG_DEAD_LETTERS], parsed[TAG_DEAD_LETTERS]) | (
            "AllIngestDeadLetters" >> beam.Flatten())
        skipped = (keyed[TAG_SKIPPED], routed[TAG_SKIPPED]) | "AllSkipped" >> beam.Flatten()
        return {
            "artifacts": parsed.artifacts,
            "meetings": routed[TAG_MEETINGS],
            TAG_DEAD_LETTERS: dead_letters,
            TAG_SKIPPED: skipped,
            "dates": selected,
        }

    def _changed_dates(self, planned):
        """Dates whose meetings changed on disk, or whose consent subjects changed in the ledger."""
        from transforms.consent.gate import meeting_subject_keys

        by_files = planned | "FileChangedDates" >> beam.FlatMap(lambda p: [p[1]] if p[0] == _CHANGE else [])
        changes = [by_files]
        if self._changed_subjects is not None:
            routes = planned | "MeetingSubjectRoutes" >> beam.FlatMap(
                lambda p: [(key, p[1]) for key, _ in meeting_subject_keys(p[2])] if p[0] == _MEETING else [])
            by_consent = (
                {"dates": routes, "changed": self._changed_subjects | "KeyChanged" >> beam.Map(lambda k: (k, True))}
                | "JoinChangedSubjects" >> beam.CoGroupByKey()
                | "ConsentChangedDates" >> beam.FlatMap(
                    lambda kv: set(kv[1]["dates"]) if list(kv[1]["changed"]) else ())
            )
            changes.append(by_consent)
        return changes | "ChangedDates" >> beam.Flatten() | "DistinctChangedDates" >> beam.Distinct()
