"""The bounded fault suite of `make test` (issue 13): one round of soak_replication_faults.py —
kill -9 a partition leader, kill -9 the active controller, freeze a leader past
replica.lag.time.max.ms — with two idempotent acks=all producers and a consumer running, then
nothing acknowledged may be missing, moved or duplicated. `scripts/replication_soak.sh N` runs N
rounds."""

from soak_replication_faults import run_fault_rounds
from test_replication import cluster  # noqa: F401 (fixture)


def test_one_round_of_kills_and_freezes_loses_nothing_acknowledged(cluster):
    run_fault_rounds(cluster, 1)
