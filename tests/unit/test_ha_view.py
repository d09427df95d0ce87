"""A replica's live view (``/ha/view``) and the thread that reads its peers' (issue 17):
what goes over the wire, how old a received view is, and a dead or slow peer delays
nothing and contradicts nothing once its view is old."""

from __future__ import annotations

import threading

import pytest

from monitor.ha.peer_views import PeerViews
from monitor.ha.view import ViewError, ViewPage, build_view, parse_view, to_json
from monitor.snapshot import Snapshot
from tests.support.alerting import DOWN, T0, UP, status


def snapshot() -> Snapshot:
    return Snapshot(T0, T0, (status(ctl1=DOWN, ctl2=UP),))


def test_the_view_round_trips_with_states_ages_and_daemons():
    ages = {("prod", "slurmctld"): 1.5, ("prod", "slurmdbd"): None}
    view = build_view("b", snapshot(), ages)
    back = parse_view(to_json(view))
    assert back == view
    c = back.clusters["prod"]
    assert c.services == {"slurmctld": UP}  # slurmdbd's lane never ran: no verdict lent
    assert c.ages == {"slurmctld": 1.5}
    assert {(d.host, d.state) for d in c.daemons} == {("ctl1", DOWN), ("ctl2", UP)}


def test_the_page_answers_json_of_the_live_snapshot():
    page = ViewPage(lambda: "b", snapshot, lambda: {("prod", "slurmctld"): 0.2})
    answer = page.answer("/ha/view")
    assert answer.status == 200 and answer.content_type == "application/json"
    assert parse_view(answer.body).replica == "b"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b'{"replica": "b", "clusters": [{"name": "p", "services": '
        b'[{"service": "slurmctld", "state": "up", "age_seconds": -1}]}]}',
        b'{"replica": "b", "clusters": [{"name": "p", "services": '
        b'[{"service": "slurmctld", "state": "sideways", "age_seconds": 1}]}]}',
    ],
)
def test_what_is_not_a_view_is_refused(body):
    with pytest.raises(ViewError):
        parse_view(body)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_received_view_ages_from_when_it_was_asked_for():
    clock = Clock()
    body = to_json(build_view("b", snapshot(), {("prod", "slurmctld"): 1.0}))

    def fetch(url, credentials, timeout):
        clock.t += 0.5  # the transit: counted, since the view may be that old on arrival
        return body

    views = PeerViews(
        lambda: ["http://b"], lambda: 1.0, timeout=lambda: 1.0, fetch=fetch, monotonic=clock
    )
    views.run_once()
    wait_for(lambda: views.ages())
    clock.t += 2.0
    (sight,) = views.sights("prod")
    assert sight.replica == "b"
    assert sight.ages["slurmctld"] == pytest.approx(1.0 + 0.5 + 2.0)
    assert views.sights("other") == []
    views.stop()


def test_a_hung_peer_delays_nothing_and_is_not_asked_twice():
    release = threading.Event()
    asked = []
    good = to_json(build_view("c", snapshot(), {("prod", "slurmctld"): 0.1}))

    def fetch(url, credentials, timeout):
        asked.append(url)
        if url == "http://b":
            release.wait(10)
            raise OSError("timed out")
        return good

    views = PeerViews(
        lambda: ["http://b", "http://c"], lambda: 1.0, timeout=lambda: 1.0, fetch=fetch
    )
    views.run_once()
    wait_for(lambda: [s.replica for s in views.sights("prod")] == ["c"])
    views.run_once()  # b's first request is still out: not asked again
    wait_for(lambda: asked.count("http://c") == 2)
    assert asked.count("http://b") == 1
    release.set()
    wait_for(lambda: views.failures() == {"http://b": 1})
    views.stop()


def wait_for(check, timeout: float = 5.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"not reached: {check}")


def test_unreadable_credentials_silence_every_peer_and_are_logged_once():
    from structlog.testing import capture_logs

    asked = []

    def credentials():
        raise OSError("peer.pw: Permission denied")

    views = PeerViews(
        lambda: ["http://b"],
        lambda: 1.0,
        timeout=lambda: 1.0,
        credentials=credentials,
        fetch=lambda *a: asked.append(a) or b"",
    )
    with capture_logs() as logs:
        views.run_once()
        views.run_once()
    assert asked == [] and views.sights("prod") == []
    assert [e["event"] for e in logs] == ["ha.view_auth_failed"]
