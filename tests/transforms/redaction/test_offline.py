import socket


from tests.transforms.redaction.conftest import KEY
from transforms.redaction import offline
from transforms.redaction.engine import RedactionEngine, RedactionRequest


def test_email_redaction_makes_no_network_call(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network disabled in test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    offline.offline_tld_extractor.cache_clear()
    engine = RedactionEngine.load(None, KEY)
    result = engine.redact_batch([RedactionRequest("Reach me at maria.lopez@university.edu.au or x@y.invalidtld")])[0]
    assert "maria.lopez@university.edu.au" not in result.text
    assert dict(result.entity_counts).get("EMAIL_ADDRESS") == 1   # unknown suffix is rejected by the snapshot
    assert calls == []


def test_offline_extractor_uses_bundled_snapshot():
    extractor = offline.offline_tld_extractor()
    assert extractor.suffix_list_urls == ()
    assert offline.has_public_suffix("a@example.co.uk") and not offline.has_public_suffix("a@example.notasuffix")
