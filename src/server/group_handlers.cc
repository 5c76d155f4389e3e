// Consumer groups: FindCoordinator (10), JoinGroup (11), Heartbeat (12),
// LeaveGroup (13), SyncGroup (14), OffsetCommit (8), OffsetFetch (9), and the
// KIP-848 consumer groups: ConsumerGroupHeartbeat (68), ConsumerGroupDescribe (69).
//
// A group lives on the shard that owns its __consumer_offsets partition
// (coordinator::offsets_partition_for). Handlers run on the connection's shard
// and reach the group there through invoke_on: plain calls as a function,
// long waits (a join waits for the whole rebalance) as a coroutine there that
// awaits the group's callback. What is written to __consumer_offsets (offset commits, group records)
// and its replay at start are the shard's coordinator::GroupService's.
#include <spdlog/spdlog.h>

#include <cctype>
#include <tuple>

#include "coordinator/consumer_protocol.h"
#include "coordinator/group_coordinator.h"
#include "coordinator/placement.h"
#include "coordinator/txn_state.h"
#include "protocol/messages/consumer_group_describe.h"
#include "protocol/messages/consumer_group_heartbeat.h"
#include "protocol/messages/delete_groups.h"
#include "protocol/messages/describe_groups.h"
#include "protocol/messages/find_coordinator.h"
#include "server/cluster_routing.h"
#include "protocol/messages/heartbeat.h"
#include "protocol/messages/join_group.h"
#include "protocol/messages/leave_group.h"
#include "protocol/messages/list_groups.h"
#include "protocol/messages/offset_commit.h"
#include "protocol/messages/offset_delete.h"
#include "protocol/messages/offset_fetch.h"
#include "protocol/messages/sync_group.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/broker_metrics.h"
#include "server/consumer_lag.h"
#include "server/coordinator_io.h"
#include "server/handlers.h"
#include "server/coordinator_shard.h"

namespace samsa::server {

using coordinator::GroupCoordinator;
using coordinator::kOffsetsTopic;

coordinator::GroupConfig group_config(const BrokerSettings& s) {
  coordinator::GroupConfig c;
  if (!s.config) return c;
  c.initial_rebalance_delay_ms = s.config->group_initial_rebalance_delay_ms();
  c.min_session_timeout_ms = s.config->group_min_session_timeout_ms();
  c.max_session_timeout_ms = s.config->group_max_session_timeout_ms();
  c.max_size = s.config->group_max_size();
  c.consumer.session_timeout_ms = s.config->get_int("group.consumer.session.timeout.ms").value_or(45000);
  c.consumer.heartbeat_interval_ms = s.config->get_int("group.consumer.heartbeat.interval.ms").value_or(5000);
  c.consumer.max_size = s.config->get_int("group.consumer.max.size").value_or(INT32_MAX);
  // The first of group.consumer.assignors is the default (short names or Kafka's class names).
  auto first = s.config->value("group.consumer.assignors").value_or("uniform");
  first = first.substr(0, first.find(','));
  c.consumer.default_assignor = first.find("ange") != std::string::npos ? "range" : "uniform";
  auto policy = s.config->value("group.consumer.migration.policy").value_or("bidirectional");
  if (auto p = coordinator::parse_migration_policy(policy)) c.migration = *p;
  else spdlog::warn("group.consumer.migration.policy={} is not a policy; using bidirectional", policy);
  return c;
}

namespace {

// Awaits a callback-style group operation on the group's shard: `start(done)`
// hands `done` on (a join waits for the whole rebalance), and it is called
// once, on this shard, maybe much later. Run through invoke_on.
template <typename T, typename F>
asio::awaitable<T> until_done(F start) {
  auto initiate = [](auto handler, F f) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    // Resumed through a post: `done` may be called before `start` returns.
    f(std::function<void(T)>([h](T result) {
      auto ex = asio::get_associated_executor(*h);
      asio::post(ex, [h, result = std::move(result)]() mutable { std::move(*h)(std::move(result)); });
    }));
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(initiate, asio::use_awaitable, std::move(start));
}

// Where `group` lives, or why this request cannot reach it there: a principal without `op` on the
// group gets GROUP_AUTHORIZATION_FAILED whatever else is wrong, then an empty id where the API
// requires one INVALID_GROUP_ID, then the placement's own error.
Placement place_group(RequestContext& ctx, const std::string& group, AclOperation op, bool require_id = false) {
  Placement where = place(ctx, kOffsetsTopic, group);
  if (require_id && group.empty()) where.error = ErrorCode::INVALID_GROUP_ID;
  if (!authorized_group(ctx, op, group)) where.error = ErrorCode::GROUP_AUTHORIZATION_FAILED;
  return where;
}

coordinator::TopicMeta topic_meta(const cluster::TopicInfo& t) {
  return coordinator::TopicMeta{t.id, t.name, static_cast<int32_t>(t.partitions.size())};
}

// Every topic but the internal ones: what a classic member (its subscription is
// in its metadata) or an upgrade (every classic member's) may name.
coordinator::TopicCatalog all_topics_catalog(const cluster::MetadataImage& image) {
  coordinator::TopicCatalog out;
  image.topics.for_each([&](const std::string&, const std::shared_ptr<const cluster::TopicInfo>& t) {
    if (!t->internal) out[t->name] = topic_meta(*t);
  });
  return out;
}

// A consumer group member's partitions as a classic ConsumerProtocolAssignment
// (topic names from `image`; topics it no longer has are left out).
coordinator::Bytes assignment_bytes(const coordinator::Assignment& a, const cluster::MetadataImage& image,
                                    int16_t version) {
  coordinator::NamedPartitions named;
  for (auto& [id, ps] : a)
    if (auto* t = image.find_topic(id)) named[t->name] = ps;
  return coordinator::encode_consumer_assignment(named, version);
}

// The version a classic member speaks (its first protocol's metadata), for the assignment it is sent.
int16_t classic_version(const coordinator::ConsumerMember& m) {
  if (!m.classic || m.classic->protocols.empty()) return 0;
  return coordinator::consumer_protocol_version(m.classic->protocols.front().second).value_or(0);
}

net::Response bad_request() { return net::Response{{}, false, true}; }

// On the group's shard: whether its coordinator serves the group's partition
// (NONE), is loading it (COORDINATOR_LOAD_IN_PROGRESS) or does not lead it
// (NOT_COORDINATOR) — the image this request was placed with may be older or
// newer than the one the owning shard applied.
ErrorCode served_here(Broker* broker, int shard, const TopicPartition& tp) {
  return broker->coordinator_shard(shard).groups.check(tp);
}

}  // namespace

// ---- FindCoordinator ----------------------------------------------------------------

asio::awaitable<net::Response> handle_find_coordinator(RequestContext& ctx, protocol::Reader& r) {
  protocol::FindCoordinatorRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  std::vector<std::string> keys = ctx.api_version >= 4 ? req.coordinator_keys : std::vector<std::string>{req.key};
  // Key type 0: a group (__consumer_offsets); 1: a transactional id (__transaction_state).
  const char* topic = req.key_type == 1 ? coordinator::kTransactionStateTopic : kOffsetsTopic;
  auto ensured = ensure_internal_topic(ctx, topic);
  ErrorCode topic_err = req.key_type == 0 || req.key_type == 1 ? co_await std::move(ensured) : ErrorCode::NONE;
  protocol::FindCoordinatorResponse resp;
  auto image = ctx.shard->image;
  for (auto& key : keys) {
    protocol::FindCoordinatorResponse::Coordinator c;
    c.key = key;
    c.node_id = -1;
    c.port = -1;
    ErrorCode err = ErrorCode::NONE;
    const cluster::BrokerInfo* leader = nullptr;
    if (req.key_type != 0 && req.key_type != 1) err = ErrorCode::INVALID_REQUEST;
    else if (req.key_type == 0 && !authorized_group(ctx, AclOperation::DESCRIBE, key))
      err = ErrorCode::GROUP_AUTHORIZATION_FAILED;
    else if (req.key_type == 1 && !authorized_txn(ctx, AclOperation::DESCRIBE, key))
      err = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else if (topic_err != ErrorCode::NONE) err = topic_err;
    else {
      // The coordinator is whichever live broker leads the key's partition.
      auto where = place(ctx, topic, key);
      if (where.error == ErrorCode::NONE || where.error == ErrorCode::NOT_COORDINATOR)
        leader = coordinator_broker(*image, where.tp);
      if (!leader) err = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    }
    if (err == ErrorCode::NONE) {
      c.node_id = leader->id;
      broker_endpoint(ctx, *leader, c.host, c.port);
    }
    c.error_code = to_int(err);
    resp.coordinators.push_back(std::move(c));
  }
  if (ctx.api_version < 4 && !resp.coordinators.empty()) {
    auto& c = resp.coordinators.front();
    resp.error_code = c.error_code;
    resp.node_id = c.node_id;
    resp.host = c.host;
    resp.port = c.port;
    resp.coordinators.clear();
  }
  co_return make_response(ctx, resp);
}

// ---- JoinGroup / SyncGroup / Heartbeat / LeaveGroup --------------------------------

asio::awaitable<net::Response> handle_join_group(RequestContext& ctx, protocol::Reader& r) {
  protocol::JoinGroupRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::JoinGroupResponse resp;
  resp.member_id = req.member_id;
  resp.protocol_name = ctx.api_version >= 7 ? std::nullopt : std::optional<std::string>("");
  auto where = place_group(ctx, req.group_id, AclOperation::READ, /*require_id=*/true);
  if (where.error != ErrorCode::NONE) {
    resp.error_code = to_int(where.error);
    co_return make_response(ctx, resp);
  }
  coordinator::JoinParams p;
  p.member_id = req.member_id;
  p.group_instance_id = req.group_instance_id;
  p.client_id = ctx.client_id.value_or("");
  p.client_host = "/" + ctx.conn->peer_host;
  p.session_timeout_ms = req.session_timeout_ms;
  p.rebalance_timeout_ms = ctx.api_version >= 1 ? req.rebalance_timeout_ms : -1;
  p.protocol_type = req.protocol_type;
  for (auto& pr : req.protocols) p.protocols.emplace_back(pr.name, pr.metadata);
  p.require_known_member_id = ctx.api_version >= 4;
  Broker* broker = ctx.broker;
  int shard = where.shard;
  std::string group = req.group_id;
  auto op = invoke_on(broker->shard(shard), [broker, shard, group, p, tp = where.tp, image = ctx.shard->image] {
    return until_done<coordinator::JoinResult>([broker, shard, group, p, tp, image](auto done) {
      if (auto err = served_here(broker, shard, tp); err != ErrorCode::NONE) {
        coordinator::JoinResult refused;
        refused.error = err;
        refused.member_id = p.member_id;
        return done(std::move(refused));
      }
      auto& c = broker->group_coordinator(shard);
      if (auto* cg = c.find_consumer(group)) {
        // A classic member of a consumer group in use (KIP-848 migration): answered at once, as a
        // follower at its member epoch, once what its join changed is durable.
        if (!cg->empty()) {
          auto a = cg->classic_join(p, all_topics_catalog(*image), c.now());
          coordinator::JoinResult res;
          res.error = a.error;
          res.member_id = a.member_id;
          if (a.error != ErrorCode::NONE) return done(std::move(res));
          res.generation = a.generation;
          res.protocol_type = "consumer";
          res.protocol_name = a.protocol_name;
          // A classic static member replaced the last consumer-protocol member: the group is classic again.
          c.maybe_downgrade(group, /*rebalance=*/false);
          auto answer = [res = std::move(res), done = std::move(done)](ErrorCode written) mutable {
            if (written != ErrorCode::NONE) {
              auto member_id = res.member_id;
              res = coordinator::JoinResult{};
              res.member_id = std::move(member_id);
              res.error = written == ErrorCode::NOT_COORDINATOR ? written : ErrorCode::COORDINATOR_NOT_AVAILABLE;
            }
            done(std::move(res));
          };
          return broker->coordinator_shard(shard).groups.after_consumer_records(group, std::move(answer));
        }
        c.erase_consumer(group);
      }
      c.get_or_create(group).join(p, c.now(), std::move(done));
    });
  });
  std::optional<WaitedTime> remote(ctx);  // the rebalance's wait is not charged to the request quota
  auto res = co_await std::move(op);
  remote.reset();
  resp.error_code = to_int(res.error);
  resp.generation_id = res.generation;
  resp.protocol_type = res.protocol_type;
  if (res.protocol_name) resp.protocol_name = res.protocol_name;
  resp.leader = res.leader;
  resp.member_id = res.member_id;
  for (auto& m : res.members) {
    auto& out = resp.members.emplace_back();
    out.member_id = m.member_id;
    out.group_instance_id = m.group_instance_id;
    out.metadata = m.metadata;
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_sync_group(RequestContext& ctx, protocol::Reader& r) {
  protocol::SyncGroupRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::SyncGroupResponse resp;
  auto where = place_group(ctx, req.group_id, AclOperation::READ, /*require_id=*/true);
  if (where.error != ErrorCode::NONE) {
    resp.error_code = to_int(where.error);
    co_return make_response(ctx, resp);
  }
  std::map<std::string, coordinator::Bytes> assignments;
  for (auto& a : req.assignments) assignments[a.member_id] = a.assignment;
  Broker* broker = ctx.broker;
  int shard = where.shard;
  auto sync = [broker, shard, tp = where.tp, req = std::move(req), assignments = std::move(assignments),
               image = ctx.shard->image](auto done) {
    auto& c = broker->group_coordinator(shard);
    auto served = served_here(broker, shard, tp);
    if (auto* cg = served == ErrorCode::NONE ? c.find_consumer(req.group_id) : nullptr) {
      // A classic member of a consumer group: its assigned partitions (the coordinator assigns).
      coordinator::SyncResult res;
      res.error = cg->classic_sync(req.member_id, req.group_instance_id, req.generation_id, req.protocol_type,
                                   req.protocol_name, c.now());
      const auto* m = cg->member(req.member_id);
      if (res.error == ErrorCode::NONE && m && m->classic) {
        res.protocol_type = "consumer";
        res.protocol_name = m->classic->protocols.front().first;
        res.assignment = assignment_bytes(m->assigned, *image, classic_version(*m));
      } else if (res.error == ErrorCode::NONE) {
        res.error = ErrorCode::UNKNOWN_MEMBER_ID;  // named only by its instance id
      }
      return done(std::move(res));
    }
    auto* g = served == ErrorCode::NONE ? c.find(req.group_id) : nullptr;
    if (!g) {
      coordinator::SyncResult err;
      err.error = served != ErrorCode::NONE ? served : ErrorCode::UNKNOWN_MEMBER_ID;
      return done(std::move(err));
    }
    // The leader's answer waits for the group metadata record of the completed rebalance.
    coordinator::SyncCallback reply = std::move(done);
    if (req.member_id == g->leader())
      reply = [broker, shard, group = req.group_id, done = std::move(reply)](coordinator::SyncResult res) {
        broker->coordinator_shard(shard).groups.reply_after_group_record(group, std::move(res), done);
      };
    g->sync(req.member_id, req.group_instance_id, req.generation_id, req.protocol_type, req.protocol_name,
            assignments, c.now(), std::move(reply));
  };
  auto op = invoke_on(broker->shard(shard), [sync = std::move(sync)]() mutable {
    return until_done<coordinator::SyncResult>(std::move(sync));
  });
  std::optional<WaitedTime> remote(ctx);  // waiting for the leader's assignment is not charged
  auto res = co_await std::move(op);
  remote.reset();
  resp.error_code = to_int(res.error);
  resp.protocol_type = res.protocol_type;
  resp.protocol_name = res.protocol_name;
  resp.assignment = std::move(res.assignment);
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_heartbeat(RequestContext& ctx, protocol::Reader& r) {
  protocol::HeartbeatRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::HeartbeatResponse resp;
  auto where = place_group(ctx, req.group_id, AclOperation::READ);
  if (where.error != ErrorCode::NONE) {
    resp.error_code = to_int(where.error);
    co_return make_response(ctx, resp);
  }
  Broker* broker = ctx.broker;
  int shard = where.shard;
  auto op = invoke_on(broker->shard(shard), [broker, shard, req, tp = where.tp] {
    if (auto err = served_here(broker, shard, tp); err != ErrorCode::NONE) return err;
    auto& c = broker->group_coordinator(shard);
    if (auto* cg = c.find_consumer(req.group_id))
      return cg->classic_heartbeat(req.member_id, req.group_instance_id, req.generation_id, c.now());
    auto* g = c.find(req.group_id);
    if (!g) return ErrorCode::UNKNOWN_MEMBER_ID;
    return g->heartbeat(req.member_id, req.group_instance_id, req.generation_id, c.now());
  });
  resp.error_code = to_int(co_await std::move(op));
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_leave_group(RequestContext& ctx, protocol::Reader& r) {
  protocol::LeaveGroupRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::LeaveGroupResponse resp;
  auto where = place_group(ctx, req.group_id, AclOperation::READ);
  if (where.error != ErrorCode::NONE) {
    resp.error_code = to_int(where.error);
    co_return make_response(ctx, resp);
  }
  std::vector<coordinator::LeaveOutcome> leaving;
  if (ctx.api_version >= 3) {
    for (auto& m : req.members) leaving.push_back({m.member_id, m.group_instance_id, ErrorCode::NONE});
  } else {
    leaving.push_back({req.member_id, std::nullopt, ErrorCode::NONE});
  }
  auto op = on_coordinator(*ctx.broker, where.shard,
                           [tp = where.tp, group = req.group_id, leaving = std::move(leaving)](CoordinatorShard& c) {
                             return c.groups.leave_group(tp, group, leaving);
                           });
  auto [served, done] = co_await std::move(op);
  if (served != ErrorCode::NONE) {
    resp.error_code = to_int(served);
    co_return make_response(ctx, resp);
  }
  if (ctx.api_version >= 3) {
    for (auto& l : done) {
      auto& m = resp.members.emplace_back();
      m.member_id = l.member_id;
      m.group_instance_id = l.group_instance_id;
      m.error_code = to_int(l.error);
    }
  } else if (!done.empty()) {
    resp.error_code = to_int(done.front().error);
  }
  co_return make_response(ctx, resp);
}

// ---- ConsumerGroupHeartbeat / ConsumerGroupDescribe (KIP-848) ---------------------------

namespace {

// The topics a consumer group needs from `image`: every name some member (or this request)
// subscribes to, or every topic when a regex is involved.
coordinator::TopicCatalog topic_catalog(const cluster::MetadataImage& image, const coordinator::ConsumerGroup* g,
                                        const coordinator::ConsumerHeartbeat& h) {
  coordinator::TopicCatalog out;
  bool regex = h.subscribed_topic_regex && !h.subscribed_topic_regex->empty();
  std::set<std::string> names;
  if (h.subscribed_topic_names) names.insert(h.subscribed_topic_names->begin(), h.subscribed_topic_names->end());
  if (g)
    for (auto& [_, m] : g->members()) {
      names.insert(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end());
      if (m.subscribed_topic_regex) regex = true;
    }
  if (regex) return all_topics_catalog(image);
  for (auto& n : names)
    if (auto* t = image.find_topic(n)) out[t->name] = topic_meta(*t);
  return out;
}

}  // namespace

// What the heartbeat changed is durable before the member hears of it (Kafka's rule).
static asio::awaitable<coordinator::ConsumerHeartbeatResult> persisted_heartbeat(
    Broker* broker, int shard, std::string group, coordinator::ConsumerHeartbeatResult res) {
  auto persist = broker->coordinator_shard(shard).groups.persist_consumer_group(std::move(group));
  const ErrorCode written = co_await std::move(persist);
  if (written != ErrorCode::NONE) {
    res = coordinator::ConsumerHeartbeatResult{};
    res.error = written == ErrorCode::NOT_COORDINATOR ? written : ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  co_return res;
}

// On the coordinator's shard: the heartbeat applied to the group, and what it
// changed written (durable) before the answer.
static asio::awaitable<coordinator::ConsumerHeartbeatResult> consumer_heartbeat_on_shard(
    Broker* broker, int shard, std::string group, coordinator::ConsumerHeartbeat h, cluster::ImagePtr image,
    TopicPartition tp) {
  coordinator::ConsumerHeartbeatResult res;
  res.member_id = h.member_id;
  res.member_epoch = h.member_epoch;
  if (auto err = served_here(broker, shard, tp); err != ErrorCode::NONE) {
    res.error = err;
    co_return res;
  }
  auto& c = broker->group_coordinator(shard);
  auto* g = c.find_consumer(group);
  if (auto* classic = c.find(group);
      !g && classic && (classic->member_count() > 0 || classic->has_pending_members())) {
    // A classic group in use: a joining member upgrades it to a consumer group (KIP-848 migration)
    // when the policy and the group allow it, else it is not a consumer group (Kafka's answer).
    auto upgraded = c.upgrade_and_join(group, h, all_topics_catalog(*image));
    if (!upgraded) {
      res.error = ErrorCode::GROUP_ID_NOT_FOUND;
      res.message = "Group " + group + " is not a consumer group.";
      co_return res;
    }
    res = std::move(*upgraded);
    if (res.error != ErrorCode::NONE) co_return res;
    co_return co_await persisted_heartbeat(broker, shard, group, std::move(res));
  }
  if (!g && h.member_epoch != 0) {
    res.error = h.member_epoch < 0 ? ErrorCode::UNKNOWN_MEMBER_ID : ErrorCode::UNKNOWN_MEMBER_ID;
    co_return res;
  }
  auto catalog = topic_catalog(*image, g, h);
  if (!g) {
    c.erase_empty_classic(group);
    g = &c.get_or_create_consumer(group);
  }
  res = g->heartbeat(h, catalog, c.now());
  if (res.error != ErrorCode::NONE) co_return res;
  // The last member speaking the consumer protocol left: the classic members may go on as a classic group.
  c.maybe_downgrade(group);
  co_return co_await persisted_heartbeat(broker, shard, group, std::move(res));
}

asio::awaitable<net::Response> handle_consumer_group_heartbeat(RequestContext& ctx, protocol::Reader& r) {
  protocol::ConsumerGroupHeartbeatRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::ConsumerGroupHeartbeatResponse resp;
  resp.member_id = req.member_id;
  resp.member_epoch = req.member_epoch;
  auto refuse = [&](ErrorCode e, std::string msg) {
    resp.error_code = to_int(e);
    resp.error_message = std::move(msg);
    return make_response(ctx, resp);
  };
  // Kafka's request checks.
  if (req.group_id.empty()) co_return refuse(ErrorCode::INVALID_REQUEST, "GroupId can't be empty.");
  if (req.instance_id && req.instance_id->empty())
    co_return refuse(ErrorCode::INVALID_REQUEST, "InstanceId can't be empty.");
  if (req.member_epoch == 0) {
    if (req.rebalance_timeout_ms == -1)
      co_return refuse(ErrorCode::INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request.");
    if (req.topic_partitions && !req.topic_partitions->empty())
      co_return refuse(ErrorCode::INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
    if (!req.subscribed_topic_names && !req.subscribed_topic_regex)
      co_return refuse(ErrorCode::INVALID_REQUEST, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
  } else if (req.member_id.empty()) {
    co_return refuse(ErrorCode::INVALID_REQUEST, "MemberId can't be empty.");
  } else if (req.member_epoch == -2 && !req.instance_id) {
    co_return refuse(ErrorCode::INVALID_REQUEST, "InstanceId can't be null when leaving as a static member.");
  }
  // Bounded input: a member subscribes to at most 100000 names / owns that many topics.
  if ((req.subscribed_topic_names && req.subscribed_topic_names->size() > 100000) ||
      (req.topic_partitions && req.topic_partitions->size() > 100000))
    co_return refuse(ErrorCode::INVALID_REQUEST, "too many topics");
  auto where = place_group(ctx, req.group_id, AclOperation::READ);
  if (where.error != ErrorCode::NONE) co_return refuse(where.error, "");
  coordinator::ConsumerHeartbeat h;
  h.member_id = req.member_id;
  h.member_epoch = req.member_epoch;
  h.instance_id = req.instance_id;
  h.rack_id = req.rack_id;
  h.rebalance_timeout_ms = req.rebalance_timeout_ms;
  h.subscribed_topic_names = req.subscribed_topic_names;
  h.subscribed_topic_regex = req.subscribed_topic_regex;
  h.server_assignor = req.server_assignor;
  if (req.topic_partitions) {
    h.owned.emplace();
    for (auto& t : *req.topic_partitions) (*h.owned)[t.topic_id].insert(t.partitions.begin(), t.partitions.end());
  }
  h.client_id = ctx.client_id.value_or("");
  h.client_host = "/" + ctx.conn->peer_host;
  Broker* broker = ctx.broker;
  int shard = where.shard;
  auto image = ctx.shard->image;
  std::string group = req.group_id;
  auto op = invoke_on(broker->shard(shard), [broker, shard, group, h, image, tp = where.tp] {
    return consumer_heartbeat_on_shard(broker, shard, group, h, image, tp);
  });
  auto res = co_await std::move(op);
  resp.error_code = to_int(res.error);
  resp.error_message = res.message;
  if (res.error == ErrorCode::NONE) {
    resp.member_id = res.member_id;
    resp.member_epoch = res.member_epoch;
    resp.heartbeat_interval_ms = res.heartbeat_interval_ms;
    if (res.assignment) {
      auto& a = resp.assignment.emplace();
      for (auto& [t, ps] : *res.assignment) {
        auto& out = a.topic_partitions.emplace_back();
        out.topic_id = t;
        out.partitions.assign(ps.begin(), ps.end());
      }
    }
  }
  record_response_error(ctx.api_key, res.error);
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_consumer_group_describe(RequestContext& ctx, protocol::Reader& r) {
  protocol::ConsumerGroupDescribeRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::ConsumerGroupDescribeResponse resp;
  Broker* broker = ctx.broker;
  auto image = ctx.shard->image;
  using Described = protocol::ConsumerGroupDescribeResponse::DescribedConsumerGroup;
  for (auto& id : req.group_ids) {
    Described d;
    d.group_id = id;
    auto where = place_group(ctx, id, AclOperation::DESCRIBE);
    if (where.error != ErrorCode::NONE) {
      d.error_code = to_int(where.error);
      resp.groups.push_back(std::move(d));
      continue;
    }
    int shard = where.shard;
    auto op = invoke_on(broker->shard(shard), [broker, shard, d, image, tp = where.tp]() mutable {
      if (auto err = served_here(broker, shard, tp); err != ErrorCode::NONE) {
        d.error_code = to_int(err);
        return d;
      }
      auto& c = broker->group_coordinator(shard);
      auto* g = c.find_consumer(d.group_id);
      if (!g) {
        d.error_code = to_int(ErrorCode::GROUP_ID_NOT_FOUND);
        auto* classic = c.find(d.group_id);
        d.error_message = classic && classic->state() != coordinator::GroupState::Dead
                              ? "Group " + d.group_id + " is not a consumer group."
                              : "Group " + d.group_id + " not found.";
        return d;
      }
      d.group_state = g->state_name();
      d.group_epoch = g->group_epoch();
      d.assignment_epoch = g->assignment_epoch();
      d.assignor_name = g->assignor();
      auto convert = [&image](const coordinator::Assignment& a) {
        protocol::ConsumerGroupDescribeResponse::MemberAssignment out;
        for (auto& [t, ps] : a) {
          auto& tp = out.topic_partitions.emplace_back();
          tp.topic_id = t;
          if (auto* info = image->find_topic(t)) tp.topic_name = info->name;
          tp.partitions.assign(ps.begin(), ps.end());
        }
        return out;
      };
      for (auto& [mid, m] : g->members()) {
        auto& out = d.members.emplace_back();
        out.member_id = mid;
        out.instance_id = m.instance_id;
        out.rack_id = m.rack_id;
        out.member_epoch = m.member_epoch;
        out.client_id = m.client_id;
        out.client_host = m.client_host;
        out.subscribed_topic_names = m.subscribed_topic_names;
        out.subscribed_topic_regex = m.subscribed_topic_regex;
        out.assignment = convert(m.assigned);
        auto t = g->target().find(mid);
        out.target_assignment = convert(t == g->target().end() ? coordinator::Assignment{} : t->second);
        out.member_type = m.classic ? 0 : 1;  // classic or consumer protocol (KIP-1099)
      }
      return d;
    });
    resp.groups.push_back(co_await std::move(op));
    if (req.include_authorized_operations)
      resp.groups.back().authorized_operations = authorized_operations(ctx, ResourceType::GROUP, id);
  }
  co_return make_response(ctx, resp);
}

// ---- OffsetCommit / OffsetFetch -----------------------------------------------------

asio::awaitable<net::Response> handle_offset_commit(RequestContext& ctx, protocol::Reader& r) {
  protocol::OffsetCommitRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  auto& broker = *ctx.broker;
  auto where = place_group(ctx, req.group_id, AclOperation::READ, /*require_id=*/true);
  coordinator::OffsetCommitWork w;
  w.group = req.group_id;
  w.member_id = req.member_id;
  w.instance_id = req.group_instance_id;
  w.generation = ctx.api_version >= 1 ? req.generation_id_or_member_epoch : -1;
  w.tp = where.tp;
  auto image = ctx.shard->image;
  auto cfg = broker.settings().config;
  size_t max_metadata = cfg ? static_cast<size_t>(cfg->offset_metadata_max_bytes()) : 4096;
  int64_t now = broker.clock().now_ms();
  for (auto& t : req.topics) {
    auto* topic = image->find_topic(t.name);
    const bool topic_denied = !authorized_topic(ctx, AclOperation::READ, t.name);
    for (auto& p : t.partitions) {
      coordinator::OffsetCommitItem i;
      i.topic = t.name;
      i.partition = p.partition_index;
      i.value.offset = p.committed_offset;
      i.value.leader_epoch = ctx.api_version >= 6 ? p.committed_leader_epoch : -1;
      i.value.metadata = p.committed_metadata.value_or("");
      i.value.commit_timestamp = ctx.api_version == 1 && p.commit_timestamp >= 0 ? p.commit_timestamp : now;
      // v2-v4: a retention time of its own (Kafka writes it as an expire timestamp).
      if (ctx.api_version >= 2 && ctx.api_version <= 4 && req.retention_time_ms != -1)
        i.value.expire_timestamp = i.value.commit_timestamp + req.retention_time_ms;
      if (where.error != ErrorCode::NONE) i.error = where.error;
      else if (topic_denied) i.error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
      else if (!topic || p.partition_index < 0 || static_cast<size_t>(p.partition_index) >= topic->partitions.size())
        i.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      else if (i.value.metadata.size() > max_metadata) i.error = ErrorCode::OFFSET_METADATA_TOO_LARGE;
      w.items.push_back(std::move(i));
    }
  }
  if (where.error == ErrorCode::NONE) {
    auto op = on_coordinator(broker, where.shard, [&w](CoordinatorShard& c) { return c.groups.commit_offsets(w); });
    co_await std::move(op);
    std::vector<CommitNote> notes;  // consumer lag (consumer_lag.h)
    for (auto& i : w.items)
      if (i.error == ErrorCode::NONE)
        notes.push_back({TopicPartition{i.topic, i.partition}, i.value.offset, i.value.commit_timestamp});
    note_commits(broker, where.shard, w.group, std::move(notes));
  }
  protocol::OffsetCommitResponse resp;
  for (auto& i : w.items) {
    record_response_error(ctx.api_key, i.error);
    if (resp.topics.empty() || resp.topics.back().name != i.topic) resp.topics.emplace_back().name = i.topic;
    auto& p = resp.topics.back().partitions.emplace_back();
    p.partition_index = i.partition;
    p.error_code = to_int(i.error);
  }
  co_return make_response(ctx, resp);
}

namespace {

using PartitionSet = std::set<std::pair<std::string, int32_t>>;

struct FetchedGroup {
  ErrorCode error = ErrorCode::NONE;
  coordinator::OffsetMap offsets;
  PartitionSet unstable;  // offsets a transaction has not committed yet
};

asio::awaitable<FetchedGroup> fetch_group_offsets(RequestContext& ctx, const std::string& group,
                                                 std::optional<std::string> member_id = std::nullopt,
                                                 int32_t member_epoch = -1) {
  FetchedGroup out;
  auto where = place_group(ctx, group, AclOperation::DESCRIBE);
  if (where.error != ErrorCode::NONE) {
    out.error = where.error;
    co_return out;
  }
  Broker* broker = ctx.broker;
  int shard = where.shard;
  auto op = invoke_on(broker->shard(shard), [broker, shard, group, member_id, member_epoch, tp = where.tp] {
    FetchedGroup got;
    got.error = served_here(broker, shard, tp);
    if (got.error != ErrorCode::NONE) return got;
    auto& c = broker->group_coordinator(shard);
    // OffsetFetch v9 (KIP-848): a member of a consumer group names itself and its epoch.
    if (auto* cg = c.find_consumer(group)) got.error = cg->validate_fetch(member_id, member_epoch);
    if (got.error != ErrorCode::NONE) return got;
    if (auto* m = c.offsets(group)) got.offsets = *m;
    got.unstable = c.pending_partitions(group);
    return got;
  });
  co_return co_await std::move(op);
}

// One group's answer: every committed partition when `topics` is null, else
// the asked ones (-1 for those without a commit).
template <typename TopicOut, typename TopicsIn>
std::vector<TopicOut> offsets_answer(const coordinator::OffsetMap& m, const std::optional<TopicsIn>& topics,
                                     ErrorCode err, const PartitionSet* unstable = nullptr) {
  std::vector<TopicOut> out;
  auto fill = [&](auto& p, const std::string& topic, int32_t partition) {
    p.partition_index = partition;
    p.committed_offset = -1;
    p.metadata = "";
    p.error_code = to_int(err);
    // require_stable: an offset a transaction may still change is not answered.
    if (unstable && unstable->count({topic, partition})) {
      p.error_code = to_int(ErrorCode::UNSTABLE_OFFSET_COMMIT);
      return;
    }
    if (auto it = m.find({topic, partition}); it != m.end()) {
      p.committed_offset = it->second.offset;
      p.committed_leader_epoch = it->second.leader_epoch;
      p.metadata = it->second.metadata;
    }
  };
  if (!topics) {
    for (auto& [key, _] : m) {
      if (out.empty() || out.back().name != key.first) out.emplace_back().name = key.first;
      fill(out.back().partitions.emplace_back(), key.first, key.second);
    }
    return out;
  }
  for (auto& t : *topics) {
    auto& to = out.emplace_back();
    to.name = t.name;
    for (auto p : t.partition_indexes) fill(to.partitions.emplace_back(), t.name, p);
  }
  return out;
}

// Topics the principal may not DESCRIBE: left out of an answer for every
// committed partition, answered TOPIC_AUTHORIZATION_FAILED when asked by name.
template <typename TopicOut>
void apply_topic_authorization(const RequestContext& ctx, std::vector<TopicOut>& topics, bool asked_by_name) {
  std::vector<TopicOut> kept;
  for (auto& t : topics) {
    if (!authorized_topic(ctx, AclOperation::DESCRIBE, t.name)) {
      if (!asked_by_name) continue;
      for (auto& p : t.partitions) {
        p.committed_offset = -1;
        p.metadata = "";
        p.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
      }
    }
    kept.push_back(std::move(t));
  }
  topics = std::move(kept);
}

}  // namespace

asio::awaitable<net::Response> handle_offset_fetch(RequestContext& ctx, protocol::Reader& r) {
  protocol::OffsetFetchRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::OffsetFetchResponse resp;
  if (ctx.api_version >= 8) {
    for (auto& g : req.groups) {
      auto op = fetch_group_offsets(ctx, g.group_id, g.member_id, g.member_epoch);
      auto got = co_await std::move(op);
      auto& out = resp.groups.emplace_back();
      out.group_id = g.group_id;
      out.error_code = to_int(got.error);
      out.topics = offsets_answer<protocol::OffsetFetchResponse::OffsetFetchResponseTopics>(
          got.offsets, g.topics, ErrorCode::NONE, req.require_stable ? &got.unstable : nullptr);
      apply_topic_authorization(ctx, out.topics, g.topics.has_value());
    }
    co_return make_response(ctx, resp);
  }
  auto op = fetch_group_offsets(ctx, req.group_id);
  auto got = co_await std::move(op);
  // Before v2 there is no top-level error: it goes on every partition.
  ErrorCode per_partition = ctx.api_version < 2 ? got.error : ErrorCode::NONE;
  resp.error_code = to_int(got.error);
  if (got.error == ErrorCode::NONE || ctx.api_version < 2)
    resp.topics = offsets_answer<protocol::OffsetFetchResponse::OffsetFetchResponseTopic>(
        got.offsets, req.topics, per_partition, ctx.api_version >= 7 && req.require_stable ? &got.unstable : nullptr);
  apply_topic_authorization(ctx, resp.topics, req.topics.has_value());
  co_return make_response(ctx, resp);
}

// ---- ListGroups / DescribeGroups / DeleteGroups / OffsetDelete ------------------------

namespace {

struct ListedGroup {
  std::string id;
  std::string protocol_type;
  std::string state;
  std::string type;  // classic or consumer (ListGroups v5)
};

bool state_matches(const std::vector<std::string>& filter, const std::string& state) {
  if (filter.empty()) return true;
  for (auto& f : filter)
    if (f.size() == state.size() &&
        std::equal(f.begin(), f.end(), state.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return true;
  return false;
}

// DescribeGroups of a KIP-848 group, as Kafka answers it: protocol type "consumer", the
// assignor as protocol, each member's subscription and assignment in the classic
// ConsumerProtocol encoding (version 0), so classic admin clients can show it; a
// member speaking the classic protocol shows its own metadata.
void describe_consumer_group(const coordinator::ConsumerGroup& g, const cluster::MetadataImage& image,
                             protocol::DescribeGroupsResponse::DescribedGroup& d) {
  d.group_state = g.state_name();
  d.protocol_type = "consumer";
  d.protocol_data = g.assignor();
  for (auto& [mid, m] : g.members()) {
    auto& out = d.members.emplace_back();
    out.member_id = mid;
    out.group_instance_id = m.instance_id;
    out.client_id = m.client_id;
    out.client_host = m.client_host;
    coordinator::ConsumerSubscription sub;
    sub.topics = m.subscribed_topic_names;
    out.member_metadata = m.classic ? m.classic->protocols.front().second : coordinator::encode_consumer_subscription(sub);
    out.member_assignment = assignment_bytes(m.assigned, image, 0);
  }
}

}  // namespace

asio::awaitable<net::Response> handle_list_groups(RequestContext& ctx, protocol::Reader& r) {
  protocol::ListGroupsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::ListGroupsResponse resp;
  Broker* broker = ctx.broker;
  // DESCRIBE on the cluster lists every group, else those the principal may DESCRIBE.
  const bool all_groups = authorized_cluster(ctx, AclOperation::DESCRIBE);
  for (int i = 0; i < broker->shard_count(); ++i) {
    auto op = invoke_on(broker->shard(i), [broker, i] {
      std::vector<ListedGroup> out;
      for (auto* g : broker->group_coordinator(i).groups())
        out.push_back({g->id(), g->protocol_type().value_or(""), coordinator::state_name(g->state()), "classic"});
      for (auto* g : broker->group_coordinator(i).consumer_groups())
        out.push_back({g->id(), "consumer", g->state_name(), "consumer"});
      return std::make_pair(out, broker->coordinator_shard(i).groups.served().any_loading());
    });
    auto [listed, loading] = co_await std::move(op);
    // Kafka: the groups known so far, with COORDINATOR_LOAD_IN_PROGRESS while a partition loads.
    if (loading) resp.error_code = to_int(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
    for (auto& g : listed) {
      if (!state_matches(req.states_filter, g.state)) continue;
      if (!state_matches(req.types_filter, g.type)) continue;
      if (!all_groups && !authorized_group(ctx, AclOperation::DESCRIBE, g.id)) continue;
      auto& out = resp.groups.emplace_back();
      out.group_id = g.id;
      out.protocol_type = g.protocol_type;
      out.group_state = g.state;
      out.group_type = g.type;
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_describe_groups(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeGroupsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::DescribeGroupsResponse resp;
  Broker* broker = ctx.broker;
  for (auto& id : req.groups) {
    using Described = protocol::DescribeGroupsResponse::DescribedGroup;
    Described d;
    d.group_id = id;
    auto where = place_group(ctx, id, AclOperation::DESCRIBE);
    if (where.error != ErrorCode::NONE) {
      d.error_code = to_int(where.error);
      resp.groups.push_back(std::move(d));
      continue;
    }
    int shard = where.shard;
    auto op = invoke_on(broker->shard(shard), [broker, shard, d, image = ctx.shard->image, tp = where.tp]() mutable {
      if (auto err = served_here(broker, shard, tp); err != ErrorCode::NONE) {
        d.error_code = to_int(err);
        return d;
      }
      if (auto* cg = broker->group_coordinator(shard).find_consumer(d.group_id)) {
        describe_consumer_group(*cg, *image, d);
        return d;
      }
      auto* g = broker->group_coordinator(shard).find(d.group_id);
      if (!g || g->state() == coordinator::GroupState::Dead) {
        d.group_state = "Dead";
        return d;
      }
      // Kafka shows the protocol, metadata and assignments only for a Stable group.
      bool stable = g->state() == coordinator::GroupState::Stable;
      d.group_state = coordinator::state_name(g->state());
      d.protocol_type = g->protocol_type().value_or("");
      d.protocol_data = stable ? g->protocol_name().value_or("") : "";
      for (auto& m : g->describe()) {
        auto& out = d.members.emplace_back();
        out.member_id = m.member_id;
        out.group_instance_id = m.group_instance_id;
        out.client_id = m.client_id;
        out.client_host = m.client_host;
        if (stable) {
          out.member_metadata = m.metadata;
          out.member_assignment = m.assignment;
        }
      }
      return d;
    });
    resp.groups.push_back(co_await std::move(op));
    if (req.include_authorized_operations)
      resp.groups.back().authorized_operations = authorized_operations(ctx, ResourceType::GROUP, id);
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_delete_groups(RequestContext& ctx, protocol::Reader& r) {
  protocol::DeleteGroupsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::DeleteGroupsResponse resp;
  auto& broker = *ctx.broker;
  for (auto& id : req.groups_names) {
    auto& out = resp.results.emplace_back();
    out.group_id = id;
    auto where = place_group(ctx, id, AclOperation::DELETE);
    ErrorCode result = where.error;
    if (result == ErrorCode::NONE) {
      auto op = on_coordinator(broker, where.shard,
                               [tp = where.tp, id](CoordinatorShard& c) { return c.groups.delete_group(tp, id); });
      result = co_await std::move(op);
    }
    out.error_code = to_int(result);
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_offset_delete(RequestContext& ctx, protocol::Reader& r) {
  protocol::OffsetDeleteRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::OffsetDeleteResponse resp;
  auto& broker = *ctx.broker;
  auto where = place_group(ctx, req.group_id, AclOperation::DELETE);
  coordinator::OffsetDeleteWork w;
  w.group = req.group_id;
  w.tp = where.tp;
  w.error = where.error;
  auto image = ctx.shard->image;
  for (auto& t : req.topics) {
    auto* topic = image->find_topic(t.name);
    const bool topic_denied = !authorized_topic(ctx, AclOperation::READ, t.name);
    for (auto& p : t.partitions) {
      bool known = topic && p.partition_index >= 0 && static_cast<size_t>(p.partition_index) < topic->partitions.size();
      w.items.emplace_back(t.name, p.partition_index,
                           topic_denied ? ErrorCode::TOPIC_AUTHORIZATION_FAILED
                           : known      ? ErrorCode::NONE
                                        : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    }
  }
  if (w.error == ErrorCode::NONE) {
    auto op = on_coordinator(broker, where.shard, [&w](CoordinatorShard& c) { return c.groups.delete_offsets(w); });
    co_await std::move(op);
  }
  resp.error_code = to_int(w.error);
  if (w.error == ErrorCode::NONE) {
    for (auto& [topic, partition, err] : w.items) {
      if (resp.topics.empty() || resp.topics.back().name != topic) resp.topics.emplace_back().name = topic;
      auto& p = resp.topics.back().partitions.emplace_back();
      p.partition_index = partition;
      p.error_code = to_int(err);
    }
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
