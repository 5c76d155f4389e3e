#include "net/kafka_client.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "protocol/api_registry.h"
#include "protocol/batch_header.h"

namespace samsa::net {

using SteadyClock = std::chrono::steady_clock;

const char* to_string(ClientError e) {
  switch (e) {
    case ClientError::kNone: return "none";
    case ClientError::kTimeout: return "timeout";
    case ClientError::kDisconnected: return "disconnected";
    case ClientError::kConnectFailed: return "connect failed";
    case ClientError::kTooManyInFlight: return "too many requests in flight";
    case ClientError::kResponseTooLarge: return "response too large";
    case ClientError::kBadResponse: return "bad response";
    case ClientError::kClosed: return "closed";
  }
  return "unknown";
}

int64_t ReconnectBackoff::on_failure() {
  // min * 2^failures, computed without overflow: stop doubling at the cap.
  int64_t base = std::max<int64_t>(min_ms_, 0);
  for (int i = 0; i < failures_ && base < max_ms_; ++i) base *= 2;
  base = std::min(base, max_ms_);
  if (failures_ < 62) ++failures_;
  double factor = 1.0;
  if (jitter_ > 0) factor = 1.0 - jitter_ + 2.0 * jitter_ * rng_.next_double();
  auto delay = static_cast<int64_t>(std::llround(static_cast<double>(base) * factor));
  return std::clamp<int64_t>(delay, 0, max_ms_);
}

struct KafkaClient::Pending {
  explicit Pending(asio::any_io_executor ex) : timer(std::move(ex)) {}
  int32_t correlation_id = 0;
  int16_t api_key = 0;
  int16_t api_version = 0;
  std::weak_ptr<Conn> conn;
  asio::steady_timer timer;  // expires at the deadline; cancelled on completion
  bool done = false;
  ClientError error = ClientError::kNone;
  protocol::Bytes frame;
  size_t body_offset = 0;
};

struct KafkaClient::Conn {
  Conn(asio::any_io_executor ex, std::unique_ptr<Stream> s) : stream(std::move(s)), wake(std::move(ex)) {}
  std::unique_ptr<Stream> stream;
  std::deque<std::shared_ptr<protocol::Bytes>> out;  // frames waiting for the writer
  asio::steady_timer wake;                            // cancelled when `out` grows or on reset
  bool dead = false;
};

std::shared_ptr<KafkaClient> KafkaClient::create(asio::any_io_executor ex, Transport& transport, Clock& clock,
                                                 Random& rng, KafkaClientOptions options) {
  return std::shared_ptr<KafkaClient>(new KafkaClient(std::move(ex), transport, clock, rng, std::move(options)));
}

KafkaClient::KafkaClient(asio::any_io_executor ex, Transport& transport, Clock& clock, Random& rng,
                         KafkaClientOptions o)
    : ex_(std::move(ex)),
      transport_(transport),
      clock_(clock),
      opt_(std::move(o)),
      backoff_(opt_.reconnect_backoff_ms, opt_.reconnect_backoff_max_ms, opt_.backoff_jitter, rng) {}

KafkaClient::~KafkaClient() {
  if (conn_) conn_->stream->close();
}

void KafkaClient::wake_waiters() {
  auto woken = std::move(waiters_);
  waiters_.clear();
  for (auto& t : woken) t->cancel();
}

asio::awaitable<ClientError> KafkaClient::ensure_connected(SteadyClock::time_point deadline) {
  for (;;) {
    if (closed_) co_return ClientError::kClosed;
    if (conn_) co_return ClientError::kNone;
    asio::error_code ec;
    if (connecting_) {  // share the attempt under way
      auto t = std::make_shared<asio::steady_timer>(ex_, deadline);
      waiters_.push_back(t);
      co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      std::erase(waiters_, t);
      if (closed_) co_return ClientError::kClosed;
      if (conn_) co_return ClientError::kNone;
      co_return ec ? ClientError::kConnectFailed : ClientError::kTimeout;
    }
    int64_t now = clock_.monotonic_ms();
    if (now < next_attempt_ms_) {  // backing off after a failed connect
      auto until = std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(next_attempt_ms_ - now));
      auto t = std::make_shared<asio::steady_timer>(ex_, until);
      waiters_.push_back(t);  // close() or a connect made by another send wakes it
      co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      std::erase(waiters_, t);
      if (SteadyClock::now() >= deadline) co_return ClientError::kTimeout;
      continue;
    }
    connecting_ = true;
    auto [cec, stream] = co_await transport_.connect(opt_.host, opt_.port);
    connecting_ = false;
    if (closed_) {
      if (stream) stream->close();
      wake_waiters();
      co_return ClientError::kClosed;
    }
    if (cec || !stream) {
      last_backoff_ms_ = backoff_.on_failure();
      next_attempt_ms_ = clock_.monotonic_ms() + last_backoff_ms_;
      wake_waiters();
      co_return ClientError::kConnectFailed;
    }
    backoff_.on_success();
    next_attempt_ms_ = 0;
    ++connects_;
    auto c = std::make_shared<Conn>(ex_, std::move(stream));
    conn_ = c;
    auto self = shared_from_this();
    asio::co_spawn(ex_, [self, c]() -> asio::awaitable<void> { co_await self->read_loop(c); }, asio::detached);
    asio::co_spawn(ex_, [self, c]() -> asio::awaitable<void> { co_await self->write_loop(c); }, asio::detached);
    wake_waiters();
    co_return ClientError::kNone;
  }
}

asio::awaitable<ClientResponse> KafkaClient::send(int16_t api_key, int16_t api_version,
                                                  std::span<const uint8_t> body, std::chrono::milliseconds timeout) {
  auto self = shared_from_this();  // alive until this request is answered
  auto deadline = SteadyClock::now() + timeout;
  // Request header v1 (api key, version, correlation id, client id), plus an
  // empty tagged-field section (v2) for flexible versions. Built before the
  // first wait, so `body` only has to live until the send starts.
  auto* info = protocol::find_api(api_key);
  bool flexible = info && info->is_flexible(api_version);
  protocol::Writer w;
  w.i32(0);
  w.i16(api_key);
  w.i16(api_version);
  constexpr size_t kCorrelationAt = 8;
  w.i32(0);  // correlation id, assigned once connected
  w.string(false, opt_.client_id);
  if (flexible) w.uvarint(0);
  w.raw(body);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));

  ClientResponse out;
  if (closed_) {
    out.error = ClientError::kClosed;
    co_return out;
  }
  out.error = co_await ensure_connected(deadline);
  if (out.error != ClientError::kNone) co_return out;
  if (pending_.size() >= opt_.max_in_flight) {
    out.error = ClientError::kTooManyInFlight;
    co_return out;
  }
  int32_t corr = next_correlation_id_;
  while (pending_.count(corr)) corr = (corr + 1) & 0x7fffffff;
  next_correlation_id_ = (corr + 1) & 0x7fffffff;
  w.patch_i32(kCorrelationAt, corr);

  auto p = std::make_shared<Pending>(ex_);
  p->correlation_id = corr;
  p->api_key = api_key;
  p->api_version = api_version;
  p->conn = conn_;
  pending_[corr] = p;
  conn_->out.push_back(std::make_shared<protocol::Bytes>(std::move(w.buffer())));
  conn_->wake.cancel();

  p->timer.expires_at(deadline);
  if (!p->done) {
    asio::error_code ec;
    co_await p->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!p->done) {  // the deadline passed: the stream can no longer be trusted
    complete(p, ClientError::kTimeout);
    reset(p->conn.lock(), ClientError::kDisconnected);
  }
  out.error = p->error;
  out.frame = std::move(p->frame);
  out.body_offset = p->body_offset;
  co_return out;
}

void KafkaClient::complete(const std::shared_ptr<Pending>& p, ClientError e, protocol::Bytes frame,
                           size_t body_offset) {
  if (p->done) return;
  p->done = true;
  p->error = e;
  p->frame = std::move(frame);
  p->body_offset = body_offset;
  p->timer.cancel();
  auto it = pending_.find(p->correlation_id);
  if (it != pending_.end() && it->second == p) pending_.erase(it);
}

void KafkaClient::reset(const std::shared_ptr<Conn>& c, ClientError why) {
  if (!c || c->dead) return;
  c->dead = true;
  c->stream->close();
  c->wake.cancel();
  if (conn_ == c) conn_.reset();
  std::vector<std::shared_ptr<Pending>> failed;
  for (auto& [id, p] : pending_)
    if (p->conn.lock() == c) failed.push_back(p);
  for (auto& p : failed) complete(p, why);
}

void KafkaClient::close() {
  if (closed_) return;
  closed_ = true;
  reset(conn_, ClientError::kClosed);
  std::vector<std::shared_ptr<Pending>> rest;
  for (auto& [id, p] : pending_) rest.push_back(p);
  for (auto& p : rest) complete(p, ClientError::kClosed);
  wake_waiters();
}

asio::awaitable<void> KafkaClient::write_loop(std::shared_ptr<Conn> c) {
  while (!c->dead) {
    if (c->out.empty()) {
      asio::error_code ec;
      c->wake.expires_at(SteadyClock::time_point::max());
      co_await c->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto frame = std::move(c->out.front());
    c->out.pop_front();
    if (auto ec = co_await c->stream->write_all(*frame)) {
      reset(c, ClientError::kDisconnected);
      co_return;
    }
  }
}

asio::awaitable<void> KafkaClient::read_loop(std::shared_ptr<Conn> c) {
  while (!c->dead) {
    uint8_t head[8];
    if (auto ec = co_await c->stream->read_exact(std::span<uint8_t>(head, 8))) break;
    auto size = static_cast<int32_t>(protocol::load_be32(head));
    auto corr = static_cast<int32_t>(protocol::load_be32(head + 4));
    auto it = pending_.find(corr);
    std::shared_ptr<Pending> p = it == pending_.end() ? nullptr : it->second;
    if (!p || p->conn.lock() != c || size < 4) break;  // not ours: the stream is out of step
    if (size > opt_.max_response_bytes) {              // refused before allocating
      complete(p, ClientError::kResponseTooLarge);
      break;
    }
    protocol::Bytes frame(static_cast<size_t>(size));
    std::copy(head + 4, head + 8, frame.begin());
    if (size > 4) {
      if (auto ec = co_await c->stream->read_exact(std::span<uint8_t>(frame).subspan(4))) break;
    }
    if (c->dead) break;
    // Response header v1 (tagged fields) answers flexible requests, except
    // ApiVersions, which always answers with header v0.
    protocol::Reader r(frame);
    r.skip(4);
    auto* info = protocol::find_api(p->api_key);
    if (info && info->is_flexible(p->api_version) && p->api_key != protocol::api_key::ApiVersions) {
      uint32_t n = r.uvarint();
      if (n > r.remaining()) r.fail();
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        r.uvarint();
        r.skip(r.uvarint());
      }
    }
    if (!r.ok()) {
      complete(p, ClientError::kBadResponse);
      continue;
    }
    size_t body_offset = frame.size() - r.remaining();
    complete(p, ClientError::kNone, std::move(frame), body_offset);
  }
  reset(c, ClientError::kDisconnected);
}

}  // namespace samsa::net
