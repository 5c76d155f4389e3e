// BrokerRegistration (62), BrokerHeartbeat (63) and UnregisterBroker (64) on
// the controller: the codecs at every version, the serve_* functions against
// a controller over an in-memory metadata log, and which listener serves them.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "cluster/metadata_loader.h"
#include "metadata_test_util.h"
#include "protocol/api_registry.h"
#include "raft/memory_metadata_log.h"
#include "server/controller_handlers.h"

namespace samsa::server {
namespace {

using samsa::testing::run;

template <typename T>
T round_trip(const T& in, int16_t v) {
  protocol::Writer w;
  in.encode(w, v);
  auto& buf = w.buffer();
  protocol::Reader r(buf.data(), buf.size());
  T out;
  out.decode(r, v);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

protocol::BrokerRegistrationRequest registration(int32_t id, uint8_t inc) {
  protocol::BrokerRegistrationRequest req;
  req.broker_id = id;
  req.cluster_id = "cluster-1";
  req.incarnation_id[15] = inc;
  protocol::BrokerRegistrationRequest::Listener l;
  l.name = "PLAINTEXT";
  l.host = "localhost";
  l.port = 9092;
  req.listeners.push_back(l);
  req.rack = "r1";
  return req;
}

TEST(ControllerHandlers, CodecsAtEveryVersion) {
  auto req = registration(3, 1);
  req.log_dirs.push_back(req.incarnation_id);
  req.previous_broker_epoch = 41;
  for (int16_t v = 0; v <= 4; ++v) {
    auto out = round_trip(req, v);
    EXPECT_EQ(out.broker_id, 3);
    EXPECT_EQ(out.listeners, req.listeners);
    EXPECT_EQ(out.rack, req.rack);
    EXPECT_EQ(out.log_dirs.size(), v >= 2 ? 1u : 0u);
    EXPECT_EQ(out.previous_broker_epoch, v >= 3 ? 41 : -1);
  }
  protocol::BrokerHeartbeatRequest hb;
  hb.broker_id = 3;
  hb.broker_epoch = 41;
  hb.current_metadata_offset = 99;
  hb.want_shut_down = true;
  hb.offline_log_dirs.push_back(req.incarnation_id);
  EXPECT_EQ(round_trip(hb, 1), hb);
  EXPECT_TRUE(round_trip(hb, 0).offline_log_dirs.empty());
  protocol::BrokerHeartbeatResponse hr;  // Kafka's defaults: not caught up, fenced
  EXPECT_FALSE(hr.is_caught_up);
  EXPECT_TRUE(hr.is_fenced);
  EXPECT_EQ(round_trip(hr, 1), hr);
  protocol::UnregisterBrokerResponse ur;
  ur.error_code = 102;
  ur.error_message = "gone";
  EXPECT_EQ(round_trip(ur, 0), ur);
}

TEST(ControllerHandlers, ServedOnTheControllerListenerOnly) {
  std::set<int16_t> controller;
  for (auto& h : controller_listener_handlers()) controller.insert(h.api_key);
  // The lifecycle APIs, producer id blocks, the admin requests brokers forward to the active
  // controller and the elections, reassignments and feature updates (43, 45, 46, 57: served on both
  // listeners).
  EXPECT_EQ(controller, (std::set<int16_t>{19, 20, 30, 31, 33, 37, 43, 44, 45, 46, 49, 51, 56, 57, 62, 63, 64, 67}));
  EXPECT_EQ(find_handler(62), nullptr);
  EXPECT_EQ(find_handler(63), nullptr);
  EXPECT_EQ(find_handler(56), nullptr);  // AlterPartition: controller only
  EXPECT_NE(find_handler(64), nullptr);  // admin clients send it to a broker
  // The registry's listener scopes (Kafka's schemas' "listeners") say the same.
  for (int16_t k : {56, 62, 63}) {
    EXPECT_TRUE(protocol::find_api(k)->served_on(protocol::ApiListener::controller)) << k;
    EXPECT_FALSE(protocol::find_api(k)->served_on(protocol::ApiListener::broker)) << k;
  }
  EXPECT_TRUE(protocol::find_api(64)->served_on(protocol::ApiListener::controller));
  EXPECT_TRUE(protocol::find_api(64)->served_on(protocol::ApiListener::broker));
}

struct Node {
  Node() {
    loader = std::make_unique<cluster::MetadataLoader>(log, [](cluster::ImagePtr, cluster::DeltaPtr) {});
    loader->set_cluster_id("cluster-1");
    cluster::ControllerSettings cs;
    cs.seed = 1;
    cs.clock = &clock;
    controller = std::make_unique<cluster::Controller>(cs, log, *loader);
    EXPECT_TRUE(loader->load());
  }
  asio::io_context io;
  ManualClock clock;
  raft::MemoryMetadataLog log{clock};
  std::unique_ptr<cluster::MetadataLoader> loader;
  std::unique_ptr<cluster::Controller> controller;
};

TEST(ControllerHandlers, RegisterHeartbeatUnregister) {
  Node n;
  auto reg = run(n.io, serve_broker_registration(*n.controller, registration(2, 1)));
  EXPECT_EQ(reg.error_code, 0);
  // The registration record's offset: the last of the log's first batch, after the
  // bootstrap feature levels (transaction.version 2).
  EXPECT_EQ(reg.broker_epoch, n.loader->image()->last_offset);
  EXPECT_EQ(n.loader->image()->features.at("transaction.version"), 2);
  auto wrong = registration(3, 1);
  wrong.cluster_id = "nope";
  auto refused = run(n.io, serve_broker_registration(*n.controller, wrong));
  EXPECT_EQ(refused.error_code, to_int(ErrorCode::INCONSISTENT_CLUSTER_ID));
  EXPECT_EQ(refused.broker_epoch, -1);
  auto many = registration(4, 1);
  many.listeners.resize(kMaxBrokerListeners + 1);
  EXPECT_EQ(run(n.io, serve_broker_registration(*n.controller, many)).error_code, to_int(ErrorCode::INVALID_REQUEST));

  protocol::BrokerHeartbeatRequest hb;
  hb.broker_id = 2;
  hb.broker_epoch = reg.broker_epoch;
  hb.current_metadata_offset = n.loader->image()->last_offset;
  auto beat = run(n.io, serve_broker_heartbeat(*n.controller, hb));
  EXPECT_EQ(beat.error_code, 0);
  EXPECT_TRUE(beat.is_caught_up);
  EXPECT_FALSE(beat.is_fenced);
  EXPECT_FALSE(beat.should_shut_down);
  hb.broker_epoch = 12345;
  EXPECT_EQ(run(n.io, serve_broker_heartbeat(*n.controller, hb)).error_code, to_int(ErrorCode::STALE_BROKER_EPOCH));

  protocol::UnregisterBrokerRequest un;
  un.broker_id = 2;
  auto gone = run(n.io, serve_unregister_broker(*n.controller, un));
  EXPECT_EQ(gone.error_code, 0);
  EXPECT_EQ(gone.error_message, std::nullopt);
  auto again = run(n.io, serve_unregister_broker(*n.controller, un));
  EXPECT_EQ(again.error_code, to_int(ErrorCode::BROKER_ID_NOT_REGISTERED));
  EXPECT_EQ(again.error_message, std::optional<std::string>("Broker ID 2 is not currently registered"));
}

// A node that does not lead answers each lifecycle API with NOT_CONTROLLER in
// its own (top-level) error field, which the controller channel retries elsewhere.
TEST(ControllerHandlers, ANodeThatDoesNotLeadAnswersNotController) {
  Node n;
  n.log.set_leader(NodeId(9), Epoch(2));
  const int16_t kNotController = to_int(ErrorCode::NOT_CONTROLLER);
  auto reg = run(n.io, serve_broker_registration(*n.controller, registration(2, 1)));
  EXPECT_EQ(reg.error_code, kNotController);
  EXPECT_EQ(reg.broker_epoch, -1);
  protocol::BrokerHeartbeatRequest hb;
  hb.broker_id = 2;
  EXPECT_EQ(run(n.io, serve_broker_heartbeat(*n.controller, hb)).error_code, kNotController);
  protocol::UnregisterBrokerRequest un;
  un.broker_id = 2;
  EXPECT_EQ(run(n.io, serve_unregister_broker(*n.controller, un)).error_code, kNotController);
}

}  // namespace
}  // namespace samsa::server
