#include "net/connection.h"

#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cstdlib>

#include <asio/ssl.hpp>
#include <spdlog/spdlog.h>

#include "net/principal_mapping.h"
#include "net/tls.h"

namespace samsa::net {

using asio::awaitable;
using asio::use_awaitable;

Connection::Connection(asio::ip::tcp::socket socket, ConnectionInfo info, ConnectionLimits limits,
                       RequestHandler handler)
    : socket_(std::move(socket)),
      info_(std::move(info)),
      limits_(limits),
      handler_(std::move(handler)),
      writer_wake_(socket_.get_executor()),
      reader_wake_(socket_.get_executor()),
      watchdog_timer_(socket_.get_executor()),
      last_activity_(Clock::now()) {}

Connection::~Connection() {
  if (on_close_) on_close_();  // never closed explicitly (start() not called)
}

void Connection::start() {
  record_connection(listener_name(), info_.shard, +1);
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (!info_.session) info_.session = std::make_shared<Session>();
  auto self = shared_from_this();
  if (limits_.idle_ms >= 0)
    asio::co_spawn(socket_.get_executor(), [self]() { return self->watchdog(); }, asio::detached);
  if (info_.listener) tls_context_ = info_.listener->tls.get();
  if (tls_context_) {
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
    asio::co_spawn(socket_.get_executor(), [self]() { return self->tls_handshake(); }, asio::detached);
  } else {
    serve();
  }
}

void Connection::serve() {
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(socket_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
}

// The watchdog bounds the handshake as it bounds a request (connections.max.idle.ms).
// A failed handshake is the peer's problem (a plaintext client, an untrusted
// certificate): logged at info and closed, the broker serves the others.
awaitable<void> Connection::tls_handshake() {
  auto self = shared_from_this();
  receiving_since_ = Clock::now();
  asio::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
  receiving_since_.reset();
  if (closed_) co_return;
  if (ec) {
    spdlog::info("connection {} from {} on listener {}: TLS handshake failed ({}), closing", info_.id,
                 info_.peer_host, info_.listener->name, ec.message());
    close();
    co_return;
  }
  touch();
  // ssl.principal.mapping.rules turn the certificate's subject into the user name.
  if (auto subject = tls_peer_subject(tls_->native_handle())) {
    auto* mapper = info_.listener->principal_mapper.get();
    auto name = mapper ? mapper->map(*subject) : std::optional<std::string>(*subject);
    if (!name) {
      spdlog::info("connection {} from {} on listener {}: no ssl.principal.mapping.rules rule applies to {}, "
                   "closing", info_.id, info_.peer_host, info_.listener->name, *subject);
      close();
      co_return;
    }
    info_.session->principal = "User:" + *name;
  }
  serve();
}

awaitable<size_t> Connection::read_some(asio::mutable_buffer b) {
  return tls_ ? tls_->async_read_some(b, use_awaitable) : socket_.async_read_some(b, use_awaitable);
}

awaitable<size_t> Connection::read_exact(asio::mutable_buffer b) {
  return tls_ ? asio::async_read(*tls_, b, use_awaitable) : asio::async_read(socket_, b, use_awaitable);
}

awaitable<size_t> Connection::write_all(const std::vector<asio::const_buffer>& bufs, asio::error_code& ec) {
  auto token = asio::redirect_error(use_awaitable, ec);
  return tls_ ? asio::async_write(*tls_, bufs, token) : asio::async_write(socket_, bufs, token);
}

awaitable<size_t> Connection::write_all(asio::const_buffer b, asio::error_code& ec) {
  auto token = asio::redirect_error(use_awaitable, ec);
  return tls_ ? asio::async_write(*tls_, b, token) : asio::async_write(socket_, b, token);
}

int32_t Connection::frame_limit() const {
  if (info_.session && !info_.session->authenticated && info_.listener)
    return std::min(limits_.max_request_bytes, info_.listener->max_unauthenticated_bytes);
  return limits_.max_request_bytes;
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  writer_wake_.cancel();
  reader_wake_.cancel();
  watchdog_timer_.cancel();
  add_request_bytes_in_flight(-static_cast<int64_t>(bytes_in_flight_));
  bytes_in_flight_ = 0;
  record_connection(listener_name(), info_.shard, -1);
  if (auto fn = std::move(on_close_)) {
    on_close_ = nullptr;
    fn();
  }
}

// The token's last copy may die on any shard: it wakes the reader through this
// connection's executor, and does nothing once the connection is gone.
ApplyToken Connection::make_apply_token() {
  applying_ = true;
  std::weak_ptr<Connection> weak = weak_from_this();
  auto ex = socket_.get_executor();
  return ApplyToken(nullptr, [weak, ex](void*) {
    asio::post(ex, [weak] {
      if (auto c = weak.lock()) {
        c->applying_ = false;
        c->reader_wake_.cancel();
      }
    });
  });
}

// Closes the connection when it has been idle (no request being handled, no
// bytes moving) for idle_ms, or when a request started arriving more than
// idle_ms ago and is still incomplete. Sleeps until the earliest such
// deadline; activity only moves the deadline, so it costs one wake-up per
// idle_ms at most.
awaitable<void> Connection::watchdog() {
  auto self = shared_from_this();
  const auto limit = std::chrono::milliseconds(limits_.idle_ms);
  while (!closed_) {
    auto now = Clock::now();
    Clock::time_point deadline;
    const char* why = nullptr;
    if (receiving_since_) {
      deadline = *receiving_since_ + limit;
      why = "request not completely received";
    } else if (handlers_running_ == 0) {
      deadline = last_activity_ + limit;
      why = "idle";
    } else {
      deadline = now + limit;  // a request is being handled: not idle
    }
    if (why && now >= deadline) {
      spdlog::info("connection {} from {}: {} for {} ms (connections.max.idle.ms), closing", info_.id,
                   info_.peer_host, why, limits_.idle_ms);
      close();
      co_return;
    }
    watchdog_timer_.expires_at(deadline);
    asio::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> Connection::wait(asio::steady_timer& t) {
  t.expires_at(asio::steady_timer::time_point::max());
  asio::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

awaitable<void> Connection::read_loop() {
  auto self = shared_from_this();
  try {
    for (;;) {
      // One request takes effect at a time (the previous one's ApplyToken is
      // gone), and back-pressure: no reading while too many are in flight.
      while (!closed_ && (applying_ || pending_.size() >= limits_.max_in_flight)) co_await wait(reader_wake_);
      // A throttled client's channel stays muted for its throttle time.
      co_await wait_unmuted();
      if (closed_) co_return;
      uint8_t size_buf[4];
      size_t got = co_await read_some(asio::buffer(size_buf));
      receiving_since_ = Clock::now();  // the watchdog bounds the time to the request's last byte
      if (got < sizeof size_buf)
        co_await read_exact(asio::buffer(size_buf + got, sizeof size_buf - got));
      int32_t size = protocol::load_be32(size_buf);
      // A request header is at least 8 bytes; anything above the limit is
      // refused before a single byte of it is allocated. Before SASL
      // authentication the bound is sasl.server.max.receive.size, and a raw
      // SASL token (SaslHandshake v0) may be shorter than a request header.
      const bool raw = info_.session && info_.session->raw_tokens;
      if (size < (raw ? 0 : 8) || size > frame_limit()) {
        spdlog::warn("connection {} from {}: invalid frame size {}, closing", info_.id, info_.peer_host, size);
        close();
        co_return;
      }
      auto frame = std::make_shared<protocol::FrameBytes>(static_cast<size_t>(size));
      co_await read_exact(asio::buffer(*frame));
      receiving_since_.reset();
      // Read while this loop waited on the socket before a throttled response muted the channel
      // (a client that sends its next request once it has the answer): it waits out the mute,
      // as if it had stayed in the socket.
      co_await wait_unmuted();
      if (closed_) co_return;
      touch();
      auto slot = std::make_shared<Slot>();
      slot->api_key = static_cast<int16_t>(protocol::load_be16(frame->data()));
      slot->bytes = frame->size();
      slot->times.received = Clock::now();
      bytes_in_flight_ += slot->bytes;
      add_request_bytes_in_flight(static_cast<int64_t>(slot->bytes));
      pending_.push_back(slot);
      ++handlers_running_;
      // The token is made here, not in handle(): the loop must see applying_ set before it reads on.
      asio::co_spawn(socket_.get_executor(), handle(slot, std::move(frame), make_apply_token()), asio::detached);
    }
  } catch (const std::exception&) {
    close();
  }
}

awaitable<void> Connection::handle(std::shared_ptr<Slot> slot, std::shared_ptr<protocol::FrameBytes> frame,
                                   ApplyToken applying) {
  auto self = shared_from_this();
  slot->times.started = Clock::now();
  try {
    // not inside co_await: GCC 12 temporaries bug
    auto op = handler_(info_, std::move(frame), std::move(applying));
    slot->response = co_await std::move(op);
  } catch (const std::exception& e) {
    spdlog::error("connection {}: request handler failed: {}", info_.id, e.what());
    Response r;
    r.send = false;
    r.close_after = true;
    slot->response = std::move(r);
  }
  slot->times.answered = Clock::now();
  --handlers_running_;
  touch();  // idleness counts from the answer, not from the request
  if (handlers_running_ == 0) watchdog_timer_.cancel();  // its deadline is idle-based again
  writer_wake_.cancel();
}

awaitable<void> Connection::write_loop() {
  auto self = shared_from_this();
  for (;;) {
    while (!closed_ && (pending_.empty() || !pending_.front()->response)) co_await wait(writer_wake_);
    if (closed_) co_return;
    // Coalesce consecutive ready responses without file chunks into one write.
    std::vector<std::shared_ptr<Slot>> batch;
    while (!pending_.empty() && pending_.front()->response) {
      auto& r = *pending_.front()->response;
      // A response held back for its throttle time goes alone.
      const bool alone = !r.frame.splices().empty() || r.close_after || (r.throttle_ms > 0 && r.throttle_before_send);
      if (!batch.empty() && alone) break;
      batch.push_back(pending_.front());
      pending_.pop_front();
      if (alone) break;
    }
    reader_wake_.cancel();
    auto send_start = Clock::now();
    bool ok = true;
    auto& first = *batch[0]->response;
    if (batch.size() == 1 && first.throttle_ms > 0 && first.throttle_before_send) {
      mute_for(first.throttle_ms);
      asio::steady_timer delay(socket_.get_executor(), muted_until_);
      asio::error_code ec;
      co_await delay.async_wait(asio::redirect_error(use_awaitable, ec));
      if (closed_) co_return;
    }
    if (batch.size() == 1) {
      ok = co_await send_response(*batch[0]->response);
    } else {
      std::vector<asio::const_buffer> bufs;
      for (auto& s : batch) {
        auto& r = *s->response;
        if (!r.send) continue;
        r.frame.patch_i32(0, static_cast<int32_t>(r.frame.total_size() - 4));
        bufs.emplace_back(asio::buffer(r.frame.buffer()));
      }
      asio::error_code ec;
      co_await write_all(bufs, ec);
      ok = !ec;
    }
    touch();
    for (auto& s : batch)
      if (s->response->throttle_ms > 0 && !s->response->throttle_before_send) mute_for(s->response->throttle_ms);
    if (ok)
      for (auto& s : batch) finish(*s, send_start);
    if (!ok || batch.back()->response->close_after) {
      close();
      co_return;
    }
  }
}

awaitable<void> Connection::wait_unmuted() {
  while (!closed_ && Clock::now() < muted_until_) {
    reader_wake_.expires_at(muted_until_);
    asio::error_code ec;
    co_await reader_wake_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

void Connection::mute_for(int32_t ms) {
  muted_until_ = std::max(muted_until_, Clock::now() + std::chrono::milliseconds(ms));
}

// The request is answered: its times go to the shard's request metrics and its
// bytes leave the in-flight gauge.
void Connection::finish(Slot& s, RequestTimes::TimePoint send_start) {
  s.times.send_start = send_start;
  s.times.sent = Clock::now();
  record_request(s.api_key, s.times);
  bytes_in_flight_ -= s.bytes;
  add_request_bytes_in_flight(-static_cast<int64_t>(s.bytes));
}

awaitable<bool> Connection::send_response(Response& r) {
  if (!r.send) co_return true;
  auto& buf = r.frame.buffer();
  r.frame.patch_i32(0, static_cast<int32_t>(r.frame.total_size() - 4));
  size_t written = 0;
  asio::error_code ec;
  for (auto& sp : r.frame.splices()) {
    if (sp.at > written) {
      co_await write_all(asio::buffer(buf.data() + written, sp.at - written), ec);
      if (ec) co_return false;
      written = sp.at;
    }
    if (!co_await send_chunk(sp.chunk)) co_return false;
  }
  if (buf.size() > written) {
    co_await write_all(asio::buffer(buf.data() + written, buf.size() - written), ec);
    if (ec) co_return false;
  }
  co_return true;
}

// sendfile() from the segment file straight to the socket. The frame size was
// announced already, so a file that turns out shorter (truncated meanwhile)
// cannot be papered over: the connection is closed and the client retries.
awaitable<bool> Connection::send_chunk(const protocol::FileChunk& c) {
  static const bool copy = std::getenv("SAMSA_BENCH_NO_SENDFILE") != nullptr;
  if (copy || tls_) {  // TLS: the bytes must pass through SSL_write (no kernel TLS, see tls.h)
    auto op = copy_chunk(c);
    co_return co_await std::move(op);
  }
  if (!socket_.native_non_blocking()) socket_.native_non_blocking(true);
  off_t off = c.pos;
  size_t left = c.len;
  while (left > 0) {
    ssize_t n = ::sendfile(socket_.native_handle(), c.fd, &off, left);
    if (n > 0) {
      left -= static_cast<size_t>(n);
      touch();  // a large response to a slow reader is not idleness
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      asio::error_code ec;
      co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
      continue;
    }
    spdlog::warn("connection {}: sendfile failed ({}), closing", info_.id, n < 0 ? strerror(errno) : "short file");
    co_return false;
  }
  co_return true;
}

awaitable<bool> Connection::copy_chunk(const protocol::FileChunk& c) {
  std::vector<uint8_t> buf(std::min<size_t>(c.len, size_t{1} << 20));
  off_t off = c.pos;
  size_t left = c.len;
  while (left > 0) {
    ssize_t n = ::pread(c.fd, buf.data(), std::min(left, buf.size()), off);
    if (n <= 0) {
      spdlog::warn("connection {}: pread failed ({}), closing", info_.id, n < 0 ? strerror(errno) : "short file");
      co_return false;
    }
    asio::error_code ec;
    co_await write_all(asio::buffer(buf.data(), static_cast<size_t>(n)), ec);
    if (ec) co_return false;
    off += n;
    left -= static_cast<size_t>(n);
  }
  co_return true;
}

}  // namespace samsa::net
