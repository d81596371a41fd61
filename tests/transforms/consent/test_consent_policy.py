import dataclasses

import pytest
from hypothesis import given, strategies as st

from consent_factories import AS_OF, account_and_participant_grants, artifact, event, meeting, ts
from pipeline.config import ConsentPolicy
from transforms.consent.events import SubjectType
from transforms.consent.policy import decide_meeting, effective_state, winning_events
from transforms.records import ArtifactDeclaration

POLICY = ConsentPolicy()


def decide(m, artifacts, events, dead=(), as_of=AS_OF, policy=POLICY):
    return decide_meeting(m, artifacts, set(dead), events, as_of, policy)


def artifact_decisions(decisions):
    return {d.artifact_id: d for d in decisions if d.segment_id is None}


def segment_decisions(decisions):
    return {d.segment_id: d for d in decisions if d.segment_id is not None}


# --- effective state -----------------------------------------------------------------------

def test_latest_event_wins_and_future_events_are_ignored():
    events = [
        event("e1", "participant", "p1", "granted", at="2024-01-01T00:00:00+00:00"),
        event("e2", "participant", "p1", "withdrawn", at="2024-06-01T00:00:00+00:00"),
        event("e3", "participant", "p1", "granted", at="2026-01-01T00:00:00+00:00"),   # after as_of
    ]
    state = effective_state(events, AS_OF)
    assert state.resolve(SubjectType.PARTICIPANT, "p1", "ai_training", "chat").event_id == "e2"
    later = effective_state(events, ts("2026-02-01T00:00:00+00:00"))
    assert later.resolve(SubjectType.PARTICIPANT, "p1", "ai_training", "chat").event_id == "e3"


def test_event_exactly_at_as_of_counts():
    events = [event("e1", "account", "acc1", at="2025-06-01T00:00:00+00:00")]
    assert effective_state(events, AS_OF).resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "chat") is not None


@pytest.mark.parametrize("statuses, winner", [
    (("granted", "refused"), "refused"),
    (("withdrawn", "refused"), "withdrawn"),
    (("revoked", "withdrawn"), "revoked"),
    (("granted", "revoked"), "revoked"),
])
def test_same_instant_most_restrictive_status_wins(statuses, winner):
    events = [event(f"e{i}", "account", "acc1", status) for i, status in enumerate(statuses)]
    for ordering in (events, list(reversed(events))):
        resolved = effective_state(ordering, AS_OF).resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "chat")
        assert resolved.status.value == winner


def test_same_instant_same_status_greatest_event_id_wins():
    events = [event("e-b", "account", "acc1"), event("e-a", "account", "acc1")]
    assert effective_state(events, AS_OF).resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "chat").event_id == "e-b"


def test_specific_kind_and_wildcard_compete_by_time():
    wildcard_grant = event("e1", "account", "acc1", "granted", kinds=("*",), at="2024-01-01T00:00:00+00:00")
    chat_refusal = event("e2", "account", "acc1", "refused", kinds=("chat",), at="2024-02-01T00:00:00+00:00")
    wildcard_regrant = event("e3", "account", "acc1", "granted", kinds=("*",), at="2024-03-01T00:00:00+00:00")
    state = effective_state([wildcard_grant, chat_refusal], AS_OF)
    assert state.resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "chat").event_id == "e2"
    assert state.resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "transcript").event_id == "e1"
    state = effective_state([wildcard_grant, chat_refusal, wildcard_regrant], AS_OF)
    assert state.resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "chat").event_id == "e3"


def test_purposes_are_separate():
    events = [event("e1", "account", "acc1", purpose="analytics")]
    assert effective_state(events, AS_OF).resolve(SubjectType.ACCOUNT, "acc1", "ai_training", "chat") is None


def test_winning_events_keeps_only_deciding_events():
    events = [
        event("old", "participant", "p1", at="2024-01-01T00:00:00+00:00"),
        event("new", "participant", "p1", "withdrawn", at="2024-02-01T00:00:00+00:00"),
        event("chat-only", "participant", "p1", kinds=("chat",), at="2024-01-15T00:00:00+00:00"),
        event("future", "participant", "p1", at="2030-01-01T00:00:00+00:00"),
    ]
    assert [e.event_id for e in winning_events(events, AS_OF)] == ["chat-only", "new"]


# --- rule 1: default deny and scopes -------------------------------------------------------------

def test_default_deny_drops_everything_and_audits_every_segment():
    m = meeting()
    transcript = artifact("t1", "transcript")
    gated, decisions = decide(m, [transcript], [])
    assert gated == []
    assert artifact_decisions(decisions)["t1"].reason == "no_grant"
    assert {d.reason for d in segment_decisions(decisions).values()} == {"no_grant"}
    assert len(decisions) == 1 + len(transcript.segments)
    assert not any(d.allowed for d in decisions)


def test_account_grant_and_participant_grants_allow_with_event_ids():
    gated, decisions = decide(meeting(), [artifact("t1", "transcript")], account_and_participant_grants())
    assert len(gated) == 1
    assert gated[0].consent_event_ids == ("e-acc",)
    assert gated[0].segment_event_ids == (("e-acc", "e-p1"), ("e-acc", "e-p2"))
    assert all(d.allowed and d.reason == "granted" for d in decisions)


def test_meeting_scope_grant_is_enough():
    events = [event("e-mtg", "meeting", "m1"), event("e-p1", "participant", "p1"), event("e-p2", "participant", "p2")]
    gated, _ = decide(meeting(), [artifact("t1", "transcript")], events)
    assert gated[0].consent_event_ids == ("e-mtg",)


def test_refusal_at_meeting_scope_beats_account_grant():
    events = account_and_participant_grants() + [event("e-ref", "meeting", "m1", "refused")]
    gated, decisions = decide(meeting(), [artifact("t1", "transcript")], events)
    assert gated == []
    assert artifact_decisions(decisions)["t1"].reason == "refused"
    assert artifact_decisions(decisions)["t1"].event_ids == ("e-ref",)


def test_account_revocation_after_grant():
    events = account_and_participant_grants() + [
        event("e-rev", "account", "acc1", "revoked", at="2025-01-01T00:00:00+00:00")]
    gated, decisions = decide(meeting(), [artifact("t1", "transcript")], events)
    assert gated == []
    assert artifact_decisions(decisions)["t1"].reason == "revoked"
    gated_before, _ = decide(meeting(), [artifact("t1", "transcript")], events, as_of=ts("2024-12-31T00:00:00+00:00"))
    assert len(gated_before) == 1


def test_expired_account_grant():
    events = [event("e-acc", "account", "acc1", expires="2025-01-01T00:00:00+00:00"),
              event("e-p1", "participant", "p1"), event("e-p2", "participant", "p2")]
    gated, decisions = decide(meeting(), [artifact("t1", "transcript")], events)
    assert gated == []
    assert artifact_decisions(decisions)["t1"].reason == "expired"
    # expiry is exclusive: at the very instant of expiry the grant is gone
    _, at_expiry = decide(meeting(), [artifact("t1", "transcript")], events, as_of=ts("2025-01-01T00:00:00+00:00"))
    assert artifact_decisions(at_expiry)["t1"].reason == "expired"


def test_grant_must_cover_the_artifact_kind():
    events = [event("e-acc", "account", "acc1", kinds=("chat",)), event("e-p1", "participant", "p1"),
              event("e-p2", "participant", "p2")]
    gated, decisions = decide(meeting(), [artifact("t1", "transcript"), artifact("c1", "chat")], events)
    assert [g.artifact.artifact_id for g in gated] == ["c1"]
    assert artifact_decisions(decisions)["t1"].reason == "no_grant"


def test_other_purpose_is_no_grant():
    events = [event("e-acc", "account", "acc1", purpose="analytics"), event("e-p1", "participant", "p1")]
    _, decisions = decide(meeting(), [artifact("t1", "transcript", authors=("p1",))], events)
    assert artifact_decisions(decisions)["t1"].reason == "no_grant"


# --- rule 2: participants --------------------------------------------------------------------------

def test_segment_survives_only_with_its_authors_grant():
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1")]
    transcript = artifact("t1", "transcript", authors=("p1", "p2", "p1"))
    gated, decisions = decide(meeting(), [transcript], events)
    kept = gated[0].artifact.segments
    assert [s.segment_id for s in kept] == ["t1:00000", "t1:00002"]
    assert gated[0].segment_event_ids == (("e-acc", "e-p1"), ("e-acc", "e-p1"))
    assert segment_decisions(decisions)["t1:00001"].reason == "participant_no_grant"


@pytest.mark.parametrize("status, expires, reason", [
    ("refused", None, "participant_refused"),
    ("withdrawn", None, "participant_withdrawn"),
    ("revoked", None, "participant_revoked"),
    ("granted", "2025-01-01T00:00:00+00:00", "participant_expired"),
])
def test_participant_negative_states(status, expires, reason):
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1"),
              event("e-p2", "participant", "p2", status, expires=expires)]
    _, decisions = decide(meeting(), [artifact("c1", "chat")], events)
    segment = segment_decisions(decisions)["c1:00001"]
    assert (segment.allowed, segment.reason, segment.event_ids) == (False, reason, ("e-p2",))


def test_participant_withdrawal_after_as_of_is_ignored():
    events = account_and_participant_grants() + [
        event("e-wd", "participant", "p2", "withdrawn", at="2025-07-01T00:00:00+00:00")]
    gated, _ = decide(meeting(), [artifact("c1", "chat")], events)
    assert len(gated[0].artifact.segments) == 2


def test_unknown_speakers_are_dropped():
    gated, decisions = decide(meeting(), [artifact("t1", "transcript", authors=("p1", None))],
                              account_and_participant_grants())
    assert [s.segment_id for s in gated[0].artifact.segments] == ["t1:00000"]
    assert segment_decisions(decisions)["t1:00001"].reason == "unknown_speaker"


def test_poll_and_chat_are_judged_by_author():
    events = [event("e-acc", "account", "acc1"), event("e-p2", "participant", "p2")]
    gated, _ = decide(meeting(), [artifact("poll1", "poll"), artifact("c1", "chat")], events)
    assert {g.artifact.artifact_id: [s.participant_id for s in g.artifact.segments] for g in gated} == {
        "poll1": ["p2"], "c1": ["p2"]}


def test_participant_grant_must_cover_kind():
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1", kinds=("chat",))]
    gated, decisions = decide(meeting(), [artifact("t1", "transcript", authors=("p1",))], events)
    assert gated == []
    assert artifact_decisions(decisions)["t1"].reason == "no_segments_left"
    assert segment_decisions(decisions)["t1:00000"].reason == "participant_no_grant"


def test_participant_grant_not_required_when_configured_off():
    policy = dataclasses.replace(POLICY, require_participant_grant=False)
    gated, _ = decide(meeting(), [artifact("t1", "transcript", authors=("p1", "p2"))],
                      [event("e-acc", "account", "acc1")], policy=policy)
    assert gated[0].segment_event_ids == (("e-acc",), ("e-acc",))


# --- rule 5: direct messages ----------------------------------------------------------------------

def test_direct_messages_are_always_dropped():
    gated, decisions = decide(meeting(), [artifact("c1", "chat", authors=("p1", "p2"), direct_messages=(1,))],
                              account_and_participant_grants())
    assert [s.segment_id for s in gated[0].artifact.segments] == ["c1:00000"]
    assert segment_decisions(decisions)["c1:00001"].reason == "direct_message"


# --- rule 3: special categories ------------------------------------------------------------------

def test_special_category_needs_explicit_meeting_grant():
    m = meeting(category="telehealth")
    _, decisions = decide(m, [artifact("t1", "transcript")], account_and_participant_grants())
    assert artifact_decisions(decisions)["t1"].reason == "special_category_not_explicit"


def test_special_category_with_explicit_grants_is_allowed():
    m = meeting(category="therapy")
    gated, _ = decide(m, [artifact("t1", "transcript")], account_and_participant_grants(special=True))
    assert len(gated) == 1
    assert gated[0].consent_event_ids == ("e-acc", "e-mtg", "e-p1", "e-p2")


def test_special_category_every_participant_must_be_explicit():
    events = account_and_participant_grants(special=True)
    events = [e for e in events if e.event_id != "e-p2"] + [event("e-p2", "participant", "p2", special=False)]
    # p2 never speaks in this transcript, but is on the roster of a therapy meeting
    _, decisions = decide(meeting(category="medical"), [artifact("t1", "transcript", authors=("p1",))], events)
    assert artifact_decisions(decisions)["t1"].reason == "special_category_not_explicit"
    assert artifact_decisions(decisions)["t1"].event_ids == ("e-p2",)


def test_general_category_does_not_need_explicit():
    m = meeting(category="general")
    gated, _ = decide(m, [artifact("t1", "transcript")], account_and_participant_grants())
    assert len(gated) == 1


def test_special_categories_come_from_policy():
    policy = dataclasses.replace(POLICY, special_categories=("legal",))
    gated, _ = decide(meeting(category="hr"), [artifact("t1", "transcript")], account_and_participant_grants(),
                      policy=policy)
    assert len(gated) == 1


# --- rule 4: derivatives --------------------------------------------------------------------------

def test_derived_allowed_when_sources_complete_and_carries_their_ids():
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=("t1",))]
    gated, decisions = decide(meeting(), artifacts, account_and_participant_grants())
    summary = [g for g in gated if g.artifact.artifact_id == "s1"][0]
    assert summary.consent_event_ids == ("e-acc", "e-p1", "e-p2")
    assert summary.segment_event_ids == (("e-acc", "e-p1", "e-p2"),)


def test_derived_dropped_when_source_is_partial():
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1")]
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=("t1",))]
    gated, decisions = decide(meeting(), artifacts, events)
    assert [g.artifact.artifact_id for g in gated] == ["t1"]
    assert artifact_decisions(decisions)["s1"].reason == "derived_source_partial"


def test_derived_partial_allowed_when_configured():
    policy = dataclasses.replace(POLICY, derived_requires_complete_sources=False)
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1")]
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=("t1",))]
    gated, _ = decide(meeting(), artifacts, events, policy=policy)
    assert sorted(g.artifact.artifact_id for g in gated) == ["s1", "t1"]


def test_derived_dropped_when_source_dropped():
    events = [event("e-acc", "account", "acc1", kinds=("derived",))]
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=("t1",))]
    _, decisions = decide(meeting(), artifacts, events)
    assert artifact_decisions(decisions)["s1"].reason == "derived_source_dropped"


@pytest.mark.parametrize("derived_from, dead", [
    ((), ()),                        # no provenance at all
    (("t1", "gone"), ()),            # unknown source
    (("t1", "bad"), ("bad",)),       # source dead-lettered at ingest
])
def test_derived_source_missing(derived_from, dead):
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=derived_from)]
    _, decisions = decide(meeting(), artifacts, account_and_participant_grants(), dead=dead)
    assert artifact_decisions(decisions)["s1"].reason == "derived_source_missing"


def test_derived_chain_resolves_in_dependency_order():
    artifacts = [
        artifact("a-summary-of-summary", "derived", authors=(None,), derived_from=("z-summary",)),
        artifact("z-summary", "derived", authors=(None,), derived_from=("t1",)),
        artifact("t1", "transcript"),
    ]
    gated, _ = decide(meeting(), artifacts, account_and_participant_grants())
    assert sorted(g.artifact.artifact_id for g in gated) == ["a-summary-of-summary", "t1", "z-summary"]
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1")]
    _, decisions = decide(meeting(), artifacts, events)
    assert artifact_decisions(decisions)["z-summary"].reason == "derived_source_partial"
    assert artifact_decisions(decisions)["a-summary-of-summary"].reason == "derived_source_dropped"


def test_derived_cycle_is_missing():
    artifacts = [
        artifact("d1", "derived", authors=(None,), derived_from=("d2",)),
        artifact("d2", "derived", authors=(None,), derived_from=("d1",)),
    ]
    gated, decisions = decide(meeting(), artifacts, account_and_participant_grants())
    assert gated == []
    assert {d.reason for d in artifact_decisions(decisions).values()} <= {
        "derived_source_missing", "derived_source_dropped"}
    assert "derived_source_missing" in {d.reason for d in artifact_decisions(decisions).values()}


def test_derived_needs_its_own_scope_grant():
    events = [event("e-acc", "account", "acc1", kinds=("transcript",)), event("e-p1", "participant", "p1"),
              event("e-p2", "participant", "p2")]
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=("t1",))]
    _, decisions = decide(meeting(), artifacts, events)
    assert artifact_decisions(decisions)["s1"].reason == "no_grant"


def test_derived_in_special_meeting_needs_explicit_meeting_grant_only():
    artifacts = [artifact("t1", "transcript"), artifact("s1", "derived", authors=(None,), derived_from=("t1",))]
    gated, _ = decide(meeting(category="legal"), artifacts, account_and_participant_grants(special=True))
    assert sorted(g.artifact.artifact_id for g in gated) == ["s1", "t1"]


# --- rule 6: whole artifacts ----------------------------------------------------------------------

def test_upload_needs_owner_grant():
    upload = artifact("u1", "upload", authors=(None, None), owner="p2")
    events = [event("e-acc", "account", "acc1"), event("e-p1", "participant", "p1")]
    gated, decisions = decide(meeting(), [upload], events)
    assert gated == []
    assert artifact_decisions(decisions)["u1"].reason == "owner_no_grant"
    gated, _ = decide(meeting(), [upload], events + [event("e-p2", "participant", "p2")])
    assert gated[0].consent_event_ids == ("e-acc", "e-p2")
    assert len(gated[0].artifact.segments) == 2


def test_whiteboard_owner_from_meeting_declaration():
    declaration = ArtifactDeclaration(artifact_id="w1", kind="whiteboard", path="wb.png", owner_participant_id="p2")
    m = meeting(declarations=[declaration])
    _, decisions = decide(m, [artifact("w1", "whiteboard", authors=(None,))], [event("e-acc", "account", "acc1")])
    assert artifact_decisions(decisions)["w1"].reason == "owner_no_grant"


def test_upload_without_owner_is_judged_by_scope():
    gated, _ = decide(meeting(), [artifact("u1", "upload", authors=(None,))], [event("e-acc", "account", "acc1")])
    assert len(gated) == 1


def test_owner_grant_not_required_when_configured_off():
    policy = dataclasses.replace(POLICY, owner_grant_required=False)
    gated, _ = decide(meeting(), [artifact("u1", "upload", authors=(None,), owner="p2")],
                      [event("e-acc", "account", "acc1")], policy=policy)
    assert len(gated) == 1


# --- invariants -----------------------------------------------------------------------------------

EVENT_POOL = [
    event("a1", "account", "acc1"),
    event("a2", "account", "acc1", "revoked", at="2024-05-01T00:00:00+00:00"),
    event("a3", "account", "acc1", kinds=("chat",), at="2024-06-01T00:00:00+00:00"),
    event("m1", "meeting", "m1", special=True),
    event("m2", "meeting", "m1", "refused", kinds=("transcript",), at="2024-01-01T00:00:00+00:00"),
    event("p1a", "participant", "p1"),
    event("p1b", "participant", "p1", "withdrawn", at="2024-03-01T00:00:00+00:00"),
    event("p2a", "participant", "p2", expires="2025-03-01T00:00:00+00:00"),
    event("p2b", "participant", "p2", kinds=("chat", "poll"), at="2024-02-01T00:00:00+00:00"),
    event("p3", "participant", "p3", "granted", at="2025-09-01T00:00:00+00:00"),
]
ARTIFACTS = [
    artifact("t1", "transcript", authors=("p1", "p2", None, "p3")),
    artifact("c1", "chat", authors=("p2", "p1"), direct_messages=(1,)),
    artifact("q1", "poll", authors=("p2",)),
    artifact("u1", "upload", authors=(None,), owner="p1"),
    artifact("s1", "derived", authors=(None,), derived_from=("c1",)),
    artifact("s2", "derived", authors=(None,), derived_from=("q1",)),
]


@given(st.lists(st.sampled_from(EVENT_POOL), max_size=12), st.sampled_from(["general", "hr"]), st.randoms())
def test_decisions_are_order_independent_and_demonstrable(events, category, rnd):
    m = meeting(category=category, participants=("p1", "p2", "p3"))
    gated, decisions = decide(m, ARTIFACTS, events)
    shuffled_events, shuffled_artifacts = list(events), list(ARTIFACTS)
    rnd.shuffle(shuffled_events)
    rnd.shuffle(shuffled_artifacts)
    assert decide(m, shuffled_artifacts, shuffled_events) == (gated, decisions)
    assert len(decisions) == len(ARTIFACTS) + sum(len(a.segments) for a in ARTIFACTS)
    known_ids = {e.event_id for e in events}
    for g in gated:
        assert g.consent_event_ids and set(g.consent_event_ids) <= known_ids
        assert len(g.segment_event_ids) == len(g.artifact.segments) > 0
        for segment, ids in zip(g.artifact.segments, g.segment_event_ids):
            assert not segment.direct_message
            if g.artifact.kind.value in ("transcript", "chat", "poll"):
                assert segment.participant_id is not None
                assert any(e.event_id in ids and e.subject_id == segment.participant_id for e in events)
    allowed_segments = {d.segment_id for d in decisions if d.segment_id and d.allowed}
    assert allowed_segments == {s.segment_id for g in gated for s in g.artifact.segments}


# --- subjects recorded for a later re-audit ---------------------------------------------------

def test_decisions_record_their_consent_subjects_ids_only():
    m = meeting(category="hr", participants=("p2", "p1"))
    transcript = artifact("t1", "transcript", authors=("p1", None))
    upload = artifact("u1", "upload", authors=(None,), owner="p2")
    _, decisions = decide(m, [transcript, upload], account_and_participant_grants(special=True))
    artifacts, segments = artifact_decisions(decisions), segment_decisions(decisions)
    for decision in decisions:
        assert (decision.account_id, decision.category) == ("acc1", "hr")
    assert artifacts["t1"].roster_participant_ids == ("p1", "p2") and artifacts["t1"].participant_id is None
    assert artifacts["u1"].participant_id == "p2"
    assert segments["t1:00000"].participant_id == "p1" and segments["t1:00001"].participant_id is None
    assert segments["t1:00000"].roster_participant_ids == ()
    assert "Person" not in repr(decisions)          # ids, never names
