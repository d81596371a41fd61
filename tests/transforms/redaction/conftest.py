import pytest

from transforms.records import Participant
from transforms.redaction.engine import RedactionEngine

KEY = b"test-key-0123456789abcdef-000001"
OTHER_KEY = b"test-key-0123456789abcdef-000002"

ALICE = Participant("p-alice", "Alice Johnson", "alice.johnson@example.org", ("@alicej",))
BOB = Participant("p-bob", "Bob Okafor", "bob@okafor.example.com")
ROSTER = (ALICE, BOB)


@pytest.fixture(scope="session")
def engine() -> RedactionEngine:
    return RedactionEngine.load(None, KEY, "dataset")


@pytest.fixture(scope="session")
def meeting_engine() -> RedactionEngine:
    return RedactionEngine.load(None, KEY, "meeting")
