"""The bounded fault suite of `make test` (issue 13), built on soak_replication_faults.py:
- one round of kill -9 of a partition leader, kill -9 of the active controller and a leader frozen
  past replica.lag.time.max.ms, with two idempotent acks=all producers and a consumer running:
  nothing acknowledged may be missing, moved or duplicated;
- the same producers with acks=1 through a leader's kill -9: the losses Kafka documents for acks=1
  are reported (a pytest warning with the count), not asserted; what a consumer saw still may not
  disappear.
test_network_partitions.py cuts nodes off in network namespaces.
`scripts/replication_soak.sh N` runs N rounds of the first."""

from soak_replication_faults import kill_and_restart, leader_of, report_losses, run_fault_rounds
from test_replication import cluster  # noqa: F401 (fixture)


def test_one_round_of_kills_and_freezes_loses_nothing_acknowledged(cluster):
    run_fault_rounds(cluster, 1)


def kill_a_leader(cluster, topic):
    kill_and_restart(cluster, leader_of(cluster, topic), topic)


def test_acks_1_through_a_leaders_kill_reports_its_losses(cluster):
    result = run_fault_rounds(cluster, 1, fault_round=kill_a_leader, acks="1")
    report_losses("1", result)
    assert result["acked"] > 100, f"too little was acknowledged to judge: {result}"
