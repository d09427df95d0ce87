"""The rules read one cluster's SLA figures through an index built once per figures read."""

from __future__ import annotations

from monitor.alerting.rules import FiguresByCluster
from monitor.snapshot import SlaFigures


def fig(cluster: str, service: str, availability: float) -> SlaFigures:
    return SlaFigures(cluster, service, 0.999, availability, 0.5, 10.0)


def test_a_cluster_gets_its_own_figures_in_order() -> None:
    sla = (fig("a", "slurmctld", 1.0), fig("b", "slurmctld", 0.9), fig("a", "slurmdbd", 0.8))
    lookup = FiguresByCluster()
    assert lookup.of(sla, "a") == (sla[0], sla[2])
    assert lookup.of(sla, "b") == (sla[1],)
    assert lookup.of(sla, "gone") == ()


def test_a_new_read_is_indexed_again() -> None:
    lookup = FiguresByCluster()
    first = (fig("a", "slurmctld", 1.0),)
    assert lookup.of(first, "a") == first
    second = (fig("a", "slurmctld", 0.5), fig("b", "slurmctld", 1.0))
    assert lookup.of(second, "a") == (second[0],)
    assert lookup.of(second, "b") == (second[1],)


def test_a_list_changed_between_two_calls_is_read_as_it_is_now() -> None:
    lookup = FiguresByCluster()
    sla = [fig("a", "slurmctld", 1.0)]
    assert lookup.of(sla, "a") == (sla[0],)
    sla.append(fig("a", "slurmdbd", 0.7))
    assert lookup.of(sla, "a") == (sla[0], sla[1])
