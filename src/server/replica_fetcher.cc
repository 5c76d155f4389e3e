// One source broker's fetcher on one shard (replica_fetcher.h): the fetch
// loop, the request, and what each partition of a response does to the
// local replica.
#include "server/replica_fetcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/messages/fetch.h"
#include "replication/replica_state_epochs.h"
#include "server/replication_quota.h"

namespace samsa::server {

namespace {
constexpr int16_t kFetchApiKey = 1;
constexpr int16_t kFetchVersion = 12;  // the broker's own Fetch cap: topic names, DivergingEpoch
constexpr int64_t kIdleWaitMs = 1000;  // nothing due: look again at most this late
constexpr int64_t kMaxResponseFloor = int64_t{100} << 20;  // KafkaClient's default frame bound
constexpr int64_t kThrottleRecheckMs = 100;  // a partition held back by the throttle: look again this soon
}  // namespace

ReplicaFetcher::ReplicaFetcher(asio::any_io_executor ex, NodeId source, BrokerAddress address,
                               std::shared_ptr<ReplicaFetcherNet> net, Clock& clock, const ReplicaFetcherConfig& config,
                               ReplicaFetcherHooks hooks)
    : ex_(ex),
      source_(source),
      address_(std::move(address)),
      net_(std::move(net)),
      clock_(clock),
      config_(config),
      hooks_(std::move(hooks)),
      wake_timer_(ex) {
  client_ = make_client();
}

ReplicaFetcher::~ReplicaFetcher() {
  if (client_) client_->close();
}

std::shared_ptr<net::KafkaClient> ReplicaFetcher::make_client() const {
  net::KafkaClientOptions o;
  o.host = address_.host;
  o.port = address_.port;
  o.client_id = "samsa-replica-fetcher-" + std::to_string(config_.node_id.value);
  o.max_in_flight = 1;  // one fetch at a time, as Kafka's fetcher thread
  // The leader returns the first batch whole even above the limits: room for it.
  const int64_t bound = std::max(kMaxResponseFloor, int64_t{config_.response_max_bytes} + config_.partition_max_bytes);
  o.max_response_bytes = static_cast<int32_t>(std::min<int64_t>(bound, INT32_MAX));
  return net::KafkaClient::create(ex_, net_->transport, clock_, net_->rng, o);
}

void ReplicaFetcher::start() {
  if (started_ || stopped_) return;
  started_ = true;
  asio::co_spawn(ex_, [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void ReplicaFetcher::stop() {
  stopped_ = true;
  if (client_) client_->close();
  wake();
}

void ReplicaFetcher::set_address(const BrokerAddress& address) {
  if (address == address_ || stopped_) return;
  spdlog::info("replica fetcher: leader {} is now at {}:{}", source_.value, address.host, address.port);
  address_ = address;
  client_->close();  // fails a fetch in flight: its answer is dropped
  client_ = make_client();
  wake();
}

void ReplicaFetcher::wake() { wake_timer_.cancel(); }

std::vector<TopicPartition> ReplicaFetcher::partitions() const {
  std::vector<TopicPartition> out;
  out.reserve(partitions_.size());
  for (auto& [tp, st] : partitions_) out.push_back(tp);
  return out;
}

const PartitionFetchState* ReplicaFetcher::state(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : &it->second;
}

void ReplicaFetcher::add_or_update(replication::Partition& part, Epoch leader_epoch) {
  auto it = partitions_.find(part.tp());
  if (it != partitions_.end() && it->second.topic_id == part.topic_id() && it->second.leader_epoch == leader_epoch)
    return;  // the same leadership: the fetch goes on where it is
  PartitionFetchState st;
  st.topic_id = part.topic_id();
  st.leader_epoch = leader_epoch;
  // A log with records but no epoch cannot name a last fetched epoch, so the
  // leader could not tell where it diverged: only what was committed is kept
  // (Kafka's truncateToHighWatermark for replicas without epochs).
  if (part.latest_log_epoch().value < 0 && part.high_watermark() < part.log_end_offset()) {
    if (part.truncate_to(part.high_watermark()) && hooks_.truncated) hooks_.truncated();
  }
  resync(part, st);
  spdlog::info("replica fetcher: following {} from broker {} at offset {} (leader epoch {}, last epoch {})",
               part.tp().to_string(), source_.value, st.fetch_offset.value, leader_epoch.value,
               st.last_fetched_epoch.value);
  partitions_[part.tp()] = st;
  wake();
}

void ReplicaFetcher::remove(const TopicPartition& tp) {
  if (partitions_.erase(tp) != 0) spdlog::info("replica fetcher: {} no longer fetched from broker {}", tp.to_string(), source_.value);
}

// The next fetch starts at the log end; the divergence check names the
// latest local epoch (epoch_check false: none, after an out-of-range cut).
void ReplicaFetcher::resync(replication::Partition& part, PartitionFetchState& st, bool epoch_check) {
  st.fetch_offset = part.log_end_offset();
  st.last_fetched_epoch = epoch_check ? part.latest_log_epoch() : Epoch(-1);
}

void ReplicaFetcher::delay(PartitionFetchState& st) {
  st.delayed_until_ms = clock_.monotonic_ms() + std::max<int64_t>(config_.backoff_ms, 0);
}

bool ReplicaFetcher::is_throttled(const TopicPartition& tp) const {
  return hooks_.quota && hooks_.quota->limited() && hooks_.throttled && hooks_.throttled(tp);
}

bool ReplicaFetcher::held_back(const TopicPartition& tp, bool& exceeded_known, bool& exceeded) const {
  if (!is_throttled(tp)) return false;
  if (!exceeded_known) {  // one measurement per fetch round
    exceeded = hooks_.quota->exceeded(clock_.now_ms());
    exceeded_known = true;
  }
  return exceeded;
}

std::vector<std::pair<TopicPartition, SentFetch>> ReplicaFetcher::due(int64_t now_ms, int64_t* next_due_ms) const {
  std::vector<std::pair<TopicPartition, SentFetch>> out;
  *next_due_ms = -1;
  bool exceeded_known = false, exceeded = false;
  auto due_at = [next_due_ms](int64_t at) {
    if (*next_due_ms < 0 || at < *next_due_ms) *next_due_ms = at;
  };
  for (auto& [tp, st] : partitions_) {
    if (st.fenced) continue;
    if (st.delayed_until_ms > now_ms) {
      due_at(st.delayed_until_ms);
      continue;
    }
    if (held_back(tp, exceeded_known, exceeded)) {  // Kafka's shouldFollowerThrottle
      due_at(now_ms + kThrottleRecheckMs);
      continue;
    }
    out.emplace_back(tp, SentFetch{st.leader_epoch, st.fetch_offset, st.last_fetched_epoch});
  }
  return out;
}

asio::awaitable<void> ReplicaFetcher::sleep(int64_t ms) {
  wake_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(ms, 1)));
  asio::error_code ec;
  co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> ReplicaFetcher::run() {
  auto self = shared_from_this();  // the loop keeps the fetcher alive until it ends
  while (!stopped_) {
    int64_t next_due = -1;
    const int64_t now = clock_.monotonic_ms();
    auto batch = due(now, &next_due);
    if (batch.empty()) {
      co_await sleep(next_due < 0 ? kIdleWaitMs : std::min(next_due - now, kIdleWaitMs));
      continue;
    }
    co_await fetch_once(batch);
  }
}

asio::awaitable<void> ReplicaFetcher::fetch_once(const std::vector<std::pair<TopicPartition, SentFetch>>& batch) {
  protocol::FetchRequest req;
  req.replica_id = config_.node_id.value;
  req.max_wait_ms = config_.max_wait_ms;
  req.min_bytes = config_.min_bytes;
  req.max_bytes = config_.response_max_bytes;
  req.isolation_level = 0;
  req.session_id = 0;
  req.session_epoch = -1;  // a full fetch, no session (Kafka's FINAL_EPOCH)
  for (auto& [tp, sent] : batch) {  // in map order: one topic entry per run of partitions
    if (req.topics.empty() || req.topics.back().topic != tp.topic) req.topics.emplace_back().topic = tp.topic;
    auto& p = req.topics.back().partitions.emplace_back();
    p.partition = tp.partition;
    p.current_leader_epoch = sent.current_leader_epoch.value;
    p.fetch_offset = sent.fetch_offset.value;
    p.last_fetched_epoch = sent.last_fetched_epoch.value;
    p.partition_max_bytes = config_.partition_max_bytes;
    if (auto* part = hooks_.find(tp)) p.log_start_offset = part->log_start_offset().value;
  }
  protocol::Writer w;
  req.encode(w, kFetchVersion);
  auto client = client_;  // set_address may replace it meanwhile
  const auto timeout = std::chrono::milliseconds(std::max<int64_t>(config_.request_timeout_ms, config_.max_wait_ms + 1000));
  auto sending = client->send(kFetchApiKey, kFetchVersion, w.buffer(), timeout);
  net::ClientResponse r = co_await std::move(sending);  // owns the bytes the records below point into
  if (stopped_ || client != client_) co_return;
  protocol::FetchResponse resp;
  bool ok = r.ok();
  if (ok) {
    protocol::Reader reader(r.body());
    resp.decode(reader, kFetchVersion);
    ok = reader.ok() && resp.error_code == 0;
  }
  if (!ok) {
    if (!failing_)
      spdlog::warn("replica fetcher: fetch from broker {} at {}:{} failed ({}, error {}); retrying every {} ms",
                   source_.value, address_.host, address_.port, net::to_string(r.error), resp.error_code,
                   config_.backoff_ms);
    failing_ = true;
    co_await sleep(config_.backoff_ms);
    co_return;
  }
  if (failing_) spdlog::info("replica fetcher: fetching from broker {} again", source_.value);
  failing_ = false;
  std::map<TopicPartition, SentFetch> pending(batch.begin(), batch.end());
  bool truncated = false;
  const size_t topics = std::min(resp.responses.size(), pending.size());  // more answers than asked are ignored
  for (size_t ti = 0; ti < topics; ++ti) {
    auto& t = resp.responses[ti];
    for (auto& p : t.partitions) {
      TopicPartition tp{t.topic, p.partition_index};
      auto it = pending.find(tp);
      if (it == pending.end()) continue;  // not asked, or answered twice
      const SentFetch sent = it->second;
      pending.erase(it);
      std::span<const uint8_t> records = p.records.memory();
      FetchedPartition fp;
      fp.error = static_cast<ErrorCode>(p.error_code);
      fp.high_watermark = Offset(p.high_watermark);
      fp.log_start_offset = Offset(p.log_start_offset);
      fp.diverging = {Epoch(p.diverging_epoch.epoch), Offset(p.diverging_epoch.end_offset)};
      fp.raw_record_bytes = records.size();
      fp.record_bytes = whole_batches_prefix(records);
      truncated |= on_partition(tp, sent, fp, records.first(fp.record_bytes));
    }
  }
  if (truncated && hooks_.truncated) hooks_.truncated();
}

bool ReplicaFetcher::on_partition(const TopicPartition& tp, const SentFetch& sent, const FetchedPartition& resp,
                                  std::span<const uint8_t> records) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return false;
  PartitionFetchState& st = it->second;
  // Only the answer to the current fetch state counts (Kafka's check of the
  // fetch offset and epoch): the partition may have been truncated, removed
  // or re-added with a new leader epoch while the request was out.
  if (st.fenced || st.fetch_offset != sent.fetch_offset || st.leader_epoch != sent.current_leader_epoch ||
      st.last_fetched_epoch != sent.last_fetched_epoch)
    return false;
  replication::Partition* part = hooks_.find(tp);
  if (!part || part->topic_id() != st.topic_id || part->role() != replication::Role::kFollower || part->offline())
    return false;
  if (part->log_end_offset() != st.fetch_offset) {  // the log moved under us: start again from its end
    resync(*part, st);
    return false;
  }
  switch (decide(resp)) {
    case FetchAction::kAppend: {
      auto out = part->append_as_follower(records, clock_.now_ms());
      if (out.error != ErrorCode::NONE) {
        spdlog::warn("replica fetcher: appending {} from broker {} at {} failed: {} {}", tp.to_string(),
                     source_.value, st.fetch_offset.value, error_name(out.error), out.message);
        resync(*part, st);
        delay(st);
        return false;
      }
      resync(*part, st);
      part->update_follower_high_watermark(resp.high_watermark);
      if (is_throttled(tp)) hooks_.quota->record(static_cast<int64_t>(records.size()), clock_.now_ms());
      return false;
    }
    case FetchAction::kHighWatermark:
      part->update_follower_high_watermark(resp.high_watermark);
      return false;
    case FetchAction::kTruncateDiverging: {
      auto point = replication::truncation_point(part->log().leader_epoch_cache(), part->log_end_offset(),
                                                 part->high_watermark(), resp.diverging);
      spdlog::info("replica fetcher: {} diverged from broker {} (its epoch {} ends at {}): truncating to {}{}",
                   tp.to_string(), source_.value, resp.diverging.epoch.value, resp.diverging.end_offset.value,
                   point.offset.value, point.complete ? "" : " and asking again");
      if (!part->truncate_to(point.offset)) delay(st);
      resync(*part, st);
      return true;
    }
    case FetchAction::kOutOfRange:
      return on_out_of_range(*part, st, resp);
    case FetchAction::kBackoff:
      spdlog::debug("replica fetcher: {} from broker {}: {}, retrying in {} ms", tp.to_string(), source_.value,
                    error_name(resp.error), config_.backoff_ms);
      delay(st);
      return false;
    case FetchAction::kFenced:
      spdlog::info("replica fetcher: {} fenced by broker {} at leader epoch {}: waiting for newer metadata",
                   tp.to_string(), source_.value, st.leader_epoch.value);
      st.fenced = true;
      return false;
  }
  return false;
}

bool ReplicaFetcher::on_out_of_range(replication::Partition& part, PartitionFetchState& st,
                                     const FetchedPartition& resp) {
  const Offset before = part.log_end_offset();
  const bool checked_epoch = st.last_fetched_epoch.value >= 0;
  auto action = out_of_range_action(st.fetch_offset, before, part.high_watermark(), resp.log_start_offset,
                                    resp.high_watermark);
  if (action.kind == OutOfRangeAction::kStartAt) {
    spdlog::warn("replica fetcher: {} fetch offset {} is below broker {}'s log start {}: restarting the log there",
                 part.tp().to_string(), st.fetch_offset.value, source_.value, action.offset.value);
    if (!part.truncate_fully_and_start_at(action.offset)) delay(st);
    resync(part, st);
    return true;
  }
  spdlog::warn("replica fetcher: {} fetch offset {} is out of range at broker {} (its log start {}, HW {}): "
               "truncating to {}",
               part.tp().to_string(), st.fetch_offset.value, source_.value, resp.log_start_offset.value,
               resp.high_watermark.value, action.offset.value);
  if (!part.truncate_to(action.offset)) delay(st);
  // Fetch once without the divergence check (below both HWs the logs agree);
  // if that was already so and nothing changed, wait before asking again.
  resync(part, st, false);
  if (!checked_epoch && part.log_end_offset() == before) delay(st);
  return true;
}

}  // namespace samsa::server
