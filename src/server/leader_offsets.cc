#include "server/leader_offsets.h"

#include <map>
#include <memory>
#include <string>

#include "protocol/messages/list_offsets.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/kafka_bridge.h"

namespace samsa::server {

namespace {

constexpr int16_t kVersion = 7;

// What the calls to the leaders share: their answers, and the timer the caller waits on until
// the last one is in (all on `here`'s thread).
struct Gather {
  explicit Gather(asio::any_io_executor ex) : all_in(std::move(ex)) {}
  LeaderOffsets out;
  size_t waiting = 0;
  asio::steady_timer all_in;
};

asio::awaitable<void> ask_leader(Broker& broker, Shard& here, int32_t leader, protocol::Bytes body,
                                 std::chrono::milliseconds timeout, std::shared_ptr<Gather> g) {
  auto op = broker.call_broker(here, NodeId(leader), protocol::ListOffsetsRequest::api_key, kVersion, std::move(body),
                               timeout);
  auto answer = co_await std::move(op);
  if (auto resp = decode_answer<protocol::ListOffsetsResponse>(answer, kVersion))
    for (auto& t : resp->topics)
      for (auto& p : t.partitions) g->out[TopicPartition{t.name, p.partition_index}] = {p.error_code, p.offset};
  if (--g->waiting == 0) g->all_in.cancel();
}

}  // namespace

asio::awaitable<LeaderOffsets> offsets_at_leaders(Broker& broker, Shard& here, std::vector<TopicPartition> tps,
                                                  int64_t timestamp, std::chrono::milliseconds timeout) {
  cluster::ImagePtr image = here.image;
  if (tps.empty() || !image) co_return LeaderOffsets{};
  std::map<int32_t, std::map<std::string, std::vector<int32_t>>> by_leader;
  for (auto& tp : tps)
    if (auto leader = leader_elsewhere(*image, tp, broker.node_id())) by_leader[*leader][tp.topic].push_back(tp.partition);
  if (by_leader.empty()) co_return LeaderOffsets{};
  auto ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather>(ex);
  g->waiting = by_leader.size();
  // Each call is bounded by `timeout`; the slack covers their own scheduling.
  g->all_in.expires_after(timeout + std::chrono::milliseconds(500));
  for (auto& [leader, topics] : by_leader) {
    protocol::ListOffsetsRequest req;
    for (auto& [topic, parts] : topics) {
      auto& t = req.topics.emplace_back();
      t.name = topic;
      for (int32_t p : parts) t.partitions.push_back({p, -1, timestamp, 1, {}});
    }
    protocol::Writer w;
    req.encode(w, kVersion);
    asio::co_spawn(ex, ask_leader(broker, here, leader, std::move(w.buffer()), timeout, g), asio::detached);
  }
  if (g->waiting == 0) co_return g->out;  // every call finished without waiting
  asio::error_code ec;
  co_await g->all_in.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return g->out;  // a copy: late answers may still land in g
}

}  // namespace samsa::server
