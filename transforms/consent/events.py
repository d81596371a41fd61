"""Consent ledger events: the record, its enums and strict row validation.

A ledger row is validated field by field into a frozen :class:`ConsentEvent`.
Anything wrong with a row raises :class:`LedgerError`, whose message names the
ledger source, the row number and a problem code, and never the row content.

Conventions (documented in ``transforms/consent/README.md``):

* Timestamps are ISO 8601 strings **with** a UTC offset (``Z`` accepted) or
  timezone-aware datetimes (Parquet/SQL). A timestamp without a timezone is a
  malformed row (``timestamp_without_timezone:<field>``): guessing a zone could
  move a withdrawal after the as-of instant, so the ledger fails closed instead.
  All timestamps are normalised to UTC.
* ``artifact_kinds`` is a non-empty list of ``ArtifactKind`` values, or exactly
  ``["*"]`` (every kind). Mixing ``*`` with named kinds is malformed.
* ``expires_at`` is exclusive: a grant is valid while ``as_of < expires_at``.
  ``expires_at <= effective_at`` contradicts itself and is malformed.
* Unknown fields are malformed (``unknown_field``): a misspelt ``expires_at``
  must not silently turn into a grant that never expires.
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Tuple

from transforms.records import ArtifactKind

WILDCARD_KIND = "*"

REQUIRED_FIELDS = ("event_id", "subject_type", "subject_id", "purpose", "artifact_kinds", "status", "effective_at")
OPTIONAL_FIELDS = ("expires_at", "special_category")
LEDGER_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

_KNOWN_KINDS = frozenset(k.value for k in ArtifactKind)
_TRUE_STRINGS = frozenset({"true", "1", "yes", "y", "t"})
_FALSE_STRINGS = frozenset({"false", "0", "no", "n", "f", ""})


class SubjectType(str, enum.Enum):
    ACCOUNT = "account"
    MEETING = "meeting"
    PARTICIPANT = "participant"


class ConsentStatus(str, enum.Enum):
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"      # by the subject
    REVOKED = "revoked"          # by the account

    @property
    def restrictiveness(self) -> int:
        """Tie-break rank at equal ``effective_at``: the higher rank wins."""
        return _RESTRICTIVENESS[self]


_RESTRICTIVENESS = {
    ConsentStatus.GRANTED: 0,
    ConsentStatus.REFUSED: 1,
    ConsentStatus.WITHDRAWN: 2,
    ConsentStatus.REVOKED: 3,
}


@dataclass(frozen=True)
class ConsentEvent:
    event_id: str
    subject_type: SubjectType
    subject_id: str
    purpose: str
    artifact_kinds: Tuple[str, ...]          # ArtifactKind values, or ("*",)
    status: ConsentStatus
    effective_at: datetime                   # UTC, timezone-aware
    expires_at: Optional[datetime] = None    # UTC, exclusive
    special_category: bool = False           # explicit consent for special categories (GDPR Art. 9)

    @property
    def subject_key(self) -> Tuple[str, str]:
        return (self.subject_type.value, self.subject_id)

    def covers(self, kind: str) -> bool:
        return WILDCARD_KIND in self.artifact_kinds or kind in self.artifact_kinds

    def is_valid_grant(self, as_of: datetime) -> bool:
        return self.status is ConsentStatus.GRANTED and not self.is_expired(as_of)

    def is_expired(self, as_of: datetime) -> bool:
        return self.expires_at is not None and as_of >= self.expires_at

    def precedence(self) -> Tuple[Any, ...]:
        """Sort key of "latest event wins": the maximum wins.

        Later ``effective_at`` first; at the same instant the most restrictive
        status (revoked > withdrawn > refused > granted), then a non-explicit
        grant over an explicit one, then the earlier expiry, and finally the
        greater ``event_id`` so the outcome never depends on input order.
        """
        expiry_rank = -self.expires_at.timestamp() if self.expires_at is not None else float("-inf")
        return (
            self.effective_at,
            self.status.restrictiveness,
            0 if self.special_category else 1,
            expiry_rank,
            self.event_id,
        )

    def to_row(self) -> dict:
        """The JSON Lines form (ISO 8601 UTC timestamps)."""
        row = {
            "event_id": self.event_id,
            "subject_type": self.subject_type.value,
            "subject_id": self.subject_id,
            "purpose": self.purpose,
            "artifact_kinds": list(self.artifact_kinds),
            "status": self.status.value,
            "effective_at": _iso(self.effective_at),
            "special_category": self.special_category,
        }
        if self.expires_at is not None:
            row["expires_at"] = _iso(self.expires_at)
        return row


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class LedgerErrorRecord:
    """A ledger problem as a record: safe to log and count (no row content)."""

    source: str          # file URI, or SQL URL with the password hidden plus the table
    row_number: int      # 1-based; 0 when the problem concerns the whole source
    problem: str         # problem code, e.g. "missing_field:status"

    def message(self) -> str:
        where = f"row {self.row_number}" if self.row_number > 0 else "source"
        return f"consent ledger error: {self.source} {where}: {self.problem}"


class LedgerError(Exception):
    """The ledger cannot be trusted: the run fails closed (exit 2)."""

    def __init__(self, source: str, row_number: int, problem: str):
        self.record = LedgerErrorRecord(str(source), int(row_number), str(problem))
        super().__init__(self.record.message())

    def __reduce__(self):
        return (LedgerError, (self.record.source, self.record.row_number, self.record.problem))

    @property
    def source(self) -> str:
        return self.record.source

    @property
    def row_number(self) -> int:
        return self.record.row_number

    @property
    def problem(self) -> str:
        return self.record.problem


def _text(raw: Mapping[str, Any], name: str, fail) -> str:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        fail(f"missing_field:{name}")
    if not isinstance(value, str):
        fail(f"invalid_field:{name}")
    return value.strip()


def _enum(raw: Mapping[str, Any], name: str, enum_cls, fail):
    text = _text(raw, name, fail).lower()
    try:
        return enum_cls(text)
    except ValueError:
        fail(f"invalid_field:{name}")


def _timestamp(value: Any, name: str, fail) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            fail(f"invalid_timestamp:{name}")
    elif hasattr(value, "to_pydatetime"):           # pandas Timestamp
        parsed = value.to_pydatetime()
    else:
        fail(f"invalid_timestamp:{name}")
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        fail(f"timestamp_without_timezone:{name}")
    return parsed.astimezone(timezone.utc)


def _kinds(value: Any, fail) -> Tuple[str, ...]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                fail("invalid_field:artifact_kinds")
        else:
            separator = "|" if "|" in text else ";"
            value = [part for part in text.split(separator)]
    if value is None:
        fail("missing_field:artifact_kinds")
    if hasattr(value, "tolist"):                     # numpy array from a Parquet/pandas reader
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        fail("invalid_field:artifact_kinds")
    kinds = []
    for item in value:
        if not isinstance(item, str):
            fail("invalid_field:artifact_kinds")
        kind = item.strip().lower()
        if kind != WILDCARD_KIND and kind not in _KNOWN_KINDS:
            fail("invalid_field:artifact_kinds")
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        fail("missing_field:artifact_kinds")
    if WILDCARD_KIND in kinds and len(kinds) > 1:
        fail("invalid_field:artifact_kinds")
    return tuple(sorted(kinds))


def _flag(value: Any, fail) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_STRINGS:
            return True
        if text in _FALSE_STRINGS:
            return False
    fail("invalid_field:special_category")


def parse_event(raw: Mapping[str, Any], row_number: int, source: str) -> ConsentEvent:
    """Validate one ledger row. Raises :class:`LedgerError` (no content in the message)."""

    def fail(problem: str):
        raise LedgerError(source, row_number, problem)

    if not isinstance(raw, Mapping):
        fail("not_an_object")
    unknown = [key for key in raw if key not in LEDGER_FIELDS]
    if unknown:
        fail("unknown_field")
    event_id = _text(raw, "event_id", fail)
    subject_type = _enum(raw, "subject_type", SubjectType, fail)
    subject_id = _text(raw, "subject_id", fail)
    purpose = _text(raw, "purpose", fail)
    if raw.get("artifact_kinds") is None:
        fail("missing_field:artifact_kinds")
    kinds = _kinds(raw.get("artifact_kinds"), fail)
    status = _enum(raw, "status", ConsentStatus, fail)
    if raw.get("effective_at") in (None, ""):
        fail("missing_field:effective_at")
    effective_at = _timestamp(raw["effective_at"], "effective_at", fail)
    expires_raw = raw.get("expires_at")
    expires_at = None
    if expires_raw is not None and not (isinstance(expires_raw, str) and not expires_raw.strip()):
        expires_at = _timestamp(expires_raw, "expires_at", fail)
        if expires_at <= effective_at:
            fail("expires_not_after_effective")
    special = _flag(raw.get("special_category"), fail)
    return ConsentEvent(
        event_id=event_id,
        subject_type=subject_type,
        subject_id=subject_id,
        purpose=purpose,
        artifact_kinds=kinds,
        status=status,
        effective_at=effective_at,
        expires_at=expires_at,
        special_category=special,
    )
