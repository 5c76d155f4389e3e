"""The broker lifecycle APIs of KIP-631 on a broker listener (issue 12): BrokerRegistration (62)
and BrokerHeartbeat (63) are CONTROLLER-listener APIs, so a broker listener neither lists nor
serves them; UnregisterBroker (64) is an admin API a broker accepts and hands to the controller.
The controller's own behaviour (epochs, fencing, sessions, placement) is unit-tested in
tests/unit/cluster_brokers_test.cc."""

from rawkafka import Conn, Reader, compact_string, frame, i32, parse_api_versions, request_header

BROKER_ID_NOT_REGISTERED = 102


def call(conn, api_key, version, corr, body):
    """Send a flexible request (header v2); return the response body after its header v1."""
    resp = conn.request(frame(request_header(api_key, version, corr, flexible=True) + body))
    assert resp[:4] == i32(corr) and resp[4:5] == b"\x00", resp[:8].hex()
    return resp[5:]


def test_api_versions_lists_unregister_broker_only(broker):
    with Conn(broker.port) as conn:
        body = compact_string("samsa-it") + compact_string("0.1") + b"\x00"
        resp = conn.request(frame(request_header(18, 3, 1, flexible=True) + body))
        error, apis = parse_api_versions(resp[4:], 3)
    assert error == 0
    assert apis[64] == (0, 0)
    assert 62 not in apis and 63 not in apis


def test_unregister_unknown_broker(broker):
    with Conn(broker.port) as conn:
        r = Reader(call(conn, 64, 0, 7, i32(4242) + b"\x00"))
        assert r.i32() == 0  # throttle
        assert r.i16() == BROKER_ID_NOT_REGISTERED
        n = r.uvarint() - 1  # compact nullable string
        assert r.take(n).decode() == "Broker ID 4242 is not currently registered"
        r.skip_tags()
        assert r.remaining() == 0
        # The broker itself is still registered and serving.
        error, apis = parse_api_versions(conn.request(frame(request_header(18, 0, 8)))[4:], 0)
        assert error == 0 and 64 in apis
