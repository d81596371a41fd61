"""The consent gate: ledger events, policy, the GateOnConsent stage and tombstones."""
from transforms.consent.events import (
    ConsentEvent,
    ConsentStatus,
    LedgerError,
    LedgerErrorRecord,
    SubjectType,
    parse_event,
)
from transforms.consent.gate import LEDGER_ERROR_REASON, GateOnConsent, meeting_subject_keys
from transforms.consent.ledger import ReadConsentLedger, check_ledger_reachable, ledger_error_line, load_ledger_events
from transforms.consent.policy import ConsentState, decide_meeting, effective_state, winning_events
from transforms.consent.tombstones import ComputeTombstones, Tombstone, compute_tombstones

__all__ = [
    "ComputeTombstones",
    "ConsentEvent",
    "ConsentState",
    "ConsentStatus",
    "GateOnConsent",
    "LEDGER_ERROR_REASON",
    "LedgerError",
    "LedgerErrorRecord",
    "ReadConsentLedger",
    "SubjectType",
    "Tombstone",
    "check_ledger_reachable",
    "compute_tombstones",
    "decide_meeting",
    "effective_state",
    "ledger_error_line",
    "load_ledger_events",
    "meeting_subject_keys",
    "parse_event",
    "winning_events",
]
