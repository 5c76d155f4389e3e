// A controller with its loader over an in-memory metadata log, a manual clock
// and brokers that register and beat: the harness of the controller's broker
// and partition tests (cluster_brokers_test.cc, cluster_alter_partition_test.cc).
// One test thread.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cluster/controller.h"
#include "cluster/metadata_loader.h"
#include "metadata_test_util.h"
#include "raft/memory_metadata_log.h"

namespace samsa::cluster::test_support {

using samsa::testing::run;

inline constexpr int64_t kSessionMs = 9000;

inline Uuid incarnation(uint8_t n) {
  Uuid u{};
  u[15] = n;
  return u;
}

struct Cluster {
  // `tune` adjusts the controller's settings before it starts.
  explicit Cluster(const std::function<void(ControllerSettings&)>& tune = {}) {
    loader = std::make_unique<MetadataLoader>(log, [this](ImagePtr img, DeltaPtr d) {
      image = img;
      deltas.push_back(*d);
    });
    loader->set_cluster_id("cluster-1");
    ControllerSettings cs;
    cs.seed = 7;
    cs.clock = &clock;
    cs.session_timeout_ms = kSessionMs;
    if (tune) tune(cs);
    controller = std::make_unique<Controller>(cs, log, *loader);
    EXPECT_TRUE(loader->load());
  }

  BrokerRegistration registration(int32_t id, uint8_t inc, std::optional<std::string> rack = std::nullopt) {
    BrokerRegistration r;
    r.id = NodeId(id);
    r.cluster_id = "cluster-1";
    r.incarnation_id = incarnation(inc);
    r.listeners.push_back({"PLAINTEXT", "host" + std::to_string(id), 9092, 0});
    r.rack = std::move(rack);
    return r;
  }
  RegistrationResult register_broker(BrokerRegistration r) { return run(io, controller->register_broker(std::move(r))); }
  HeartbeatResult beat(int32_t id, int64_t epoch, int64_t offset, bool want_fence = false, bool want_shutdown = false) {
    BrokerHeartbeat hb;
    hb.id = NodeId(id);
    hb.broker_epoch = epoch;
    hb.metadata_offset = offset;
    hb.want_fence = want_fence;
    hb.want_shutdown = want_shutdown;
    return run(io, controller->heartbeat(hb));
  }
  // Every registered broker reports the latest offset.
  void beat_all(const std::vector<int32_t>& ids) {
    for (auto id : ids) EXPECT_EQ(beat(id, epoch(id), image->last_offset).error, ErrorCode::NONE) << id;
  }
  // Registers and unfences a broker; returns its epoch.
  int64_t join(int32_t id, std::optional<std::string> rack = std::nullopt) {
    auto r = register_broker(registration(id, static_cast<uint8_t>(id), std::move(rack)));
    EXPECT_EQ(r.error, ErrorCode::NONE);
    auto hb = beat(id, r.broker_epoch, image->last_offset);
    EXPECT_FALSE(hb.is_fenced);
    return r.broker_epoch;
  }
  int64_t epoch(int32_t id) const { return image->brokers.at(id).epoch; }
  const BrokerInfo& broker(int32_t id) const { return image->brokers.at(id); }
  OpResult create(std::string name, int32_t partitions, int16_t rf) {
    TopicSpec s;
    s.name = std::move(name);
    s.num_partitions = partitions;
    s.replication_factor = rf;
    return run(io, controller->create_topic(std::move(s), false));
  }
  const TopicInfo& topic(const std::string& name) const { return *image->find_topic(name); }
  std::map<int32_t, int> leader_counts(const std::string& name) const {
    std::map<int32_t, int> out;
    for (auto& p : topic(name).partitions) ++out[p.leader];
    return out;
  }
  int fence_expired() { return run(io, controller->fence_expired_brokers()); }

  asio::io_context io;
  ManualClock clock{1'000'000, 1'000'000};
  raft::MemoryMetadataLog log{clock};
  std::unique_ptr<MetadataLoader> loader;
  std::unique_ptr<Controller> controller;
  ImagePtr image;
  std::vector<ImageDelta> deltas;
};

}  // namespace samsa::cluster::test_support
