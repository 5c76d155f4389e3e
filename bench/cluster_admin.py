#!/usr/bin/python3
"""cluster_admin.py: the Admin/Metadata steps of bench/replication.sh (confluent-kafka). Every wait is
a bounded poll; each command prints one line of key=value pairs (or a number) and exits 1 on timeout.

  cluster_admin.py create BOOTSTRAP TOPIC PARTITIONS RF MIN_ISR BOUND_S
      create the topic (retried while the cluster forms), then wait until every partition has a
      leader and an ISR of RF; prints secs=S
  cluster_admin.py state BOOTSTRAP TOPIC            prints leader=L replicas=a,b,c isr=a,b (partition 0)
  cluster_admin.py controller BOOTSTRAP             prints the controller id Metadata reports (Samsa: the
                                                    active controller when it is a live broker)
  cluster_admin.py wait-isr BOOTSTRAP TOPIC NODE in|out BOUND_S [PID]
      polls Metadata of partition 0 until NODE is in (or out of) its ISR; prints secs=S (time waited).
      With PID: first connects, then sends PID a SIGCONT and times from that signal.
"""
import os
import signal
import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic


def admin(bootstrap):
    # Short socket timeouts: a SIGSTOPped broker in the bootstrap list must not hold a poll up.
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000,
                        "socket.connection.setup.timeout.ms": 3000})


def partitions(a, topic):
    """{partition: (leader, replicas, isr)} as Metadata shows it, or None."""
    try:
        md = a.list_topics(topic=topic, timeout=3)
    except Exception:
        return None
    t = md.topics.get(topic)
    if t is None or t.error is not None or not t.partitions:
        return None
    return {p: (m.leader, sorted(m.replicas), sorted(m.isrs)) for p, m in t.partitions.items()}


def poll(a, topic, done, t0, deadline, interval):
    """Polls Metadata until done(partitions) holds; prints secs=S (since t0) and returns 0, else 1."""
    while time.monotonic() < deadline:
        ps = partitions(a, topic)
        if ps and done(ps):
            print(f"secs={time.monotonic() - t0:.2f}")
            return 0
        time.sleep(interval)
    return 1


def create(bootstrap, topic, n, rf, min_isr, bound):
    t0 = time.monotonic()
    deadline = t0 + bound
    a = admin(bootstrap)
    last = None
    while time.monotonic() < deadline:
        try:
            fut = a.create_topics([NewTopic(topic, num_partitions=n, replication_factor=rf,
                                            config={"min.insync.replicas": str(min_isr)})],
                                  operation_timeout=20)[topic]
            fut.result(timeout=30)
            break
        except Exception as e:  # the cluster may still be forming; TOPIC_ALREADY_EXISTS ends the loop below
            last = e
            if "already exists" in str(e).lower() or "TOPIC_ALREADY_EXISTS" in str(e):
                break
            time.sleep(0.5)
    if poll(a, topic, lambda ps: len(ps) == n and all(l > 0 and len(isr) == rf for l, _, isr in ps.values()),
            t0, deadline, 0.2) == 0:
        return 0
    print(f"create {topic}: not complete within {bound} s (last error {last}, state {partitions(a, topic)})",
          file=sys.stderr)
    return 1


def state(bootstrap, topic):
    ps = partitions(admin(bootstrap), topic)
    if not ps or 0 not in ps:
        return 1
    l, r, i = ps[0]
    print(f"leader={l} replicas={','.join(map(str, r))} isr={','.join(map(str, i))}")
    return 0


def controller(bootstrap):
    try:
        print(admin(bootstrap).list_topics(timeout=10).controller_id)
    except Exception as e:
        print(f"metadata: {e}", file=sys.stderr)
        return 1
    return 0


def wait_isr(bootstrap, topic, node, want_in, bound, cont_pid=None):
    a = admin(bootstrap)
    if cont_pid is not None:
        partitions(a, topic)  # connections up before the clock starts
        os.kill(cont_pid, signal.SIGCONT)
    t0 = time.monotonic()
    if poll(a, topic, lambda ps: 0 in ps and (node in ps[0][2]) == want_in, t0, t0 + bound, 0.05) == 0:
        return 0
    print(f"wait-isr {topic}: node {node} {'in' if want_in else 'out'} not seen within {bound} s, "
          f"last {partitions(a, topic)}",
          file=sys.stderr)
    return 1


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "create" and len(argv) == 8:
        return create(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]), float(argv[7]))
    if cmd == "state" and len(argv) == 4:
        return state(argv[2], argv[3])
    if cmd == "controller" and len(argv) == 3:
        return controller(argv[2])
    if cmd == "wait-isr" and len(argv) in (7, 8) and argv[5] in ("in", "out"):
        return wait_isr(argv[2], argv[3], int(argv[4]), argv[5] == "in", float(argv[6]),
                        int(argv[7]) if len(argv) == 8 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
