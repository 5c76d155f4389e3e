// net::KafkaClient against a tiny in-test Kafka-framed server on loopback:
// correlation-id matching with several requests in flight (answered out of
// order), a request timeout, reconnecting after the server closes, the
// exponential backoff after refused connects, and a too-large response refused.
// Everything runs on one io_context for a bounded time.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "base/clock.h"
#include "base/random.h"
#include "net/kafka_client.h"
#include "protocol/api_registry.h"
#include "protocol/batch_header.h"
#include "protocol/messages/api_versions.h"
#include "protocol/wire.h"

namespace samsa::net {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;

enum class Mode {
  kEcho,          // answer each request at once: correlation id + request body
  kReverseBatch,  // read `batch` requests, answer them last-first
  kSilent,        // read and never answer
  kCloseFirst,    // close the first connection after reading one request; echo afterwards
  kHuge,          // answer with a 1 GiB size prefix
};

// A request as the broker decodes it (request header v1/v2).
struct Request {
  int16_t key = 0, version = 0;
  int32_t corr = 0;
  std::string client_id;
  protocol::Bytes body;
};

Request parse(const protocol::Bytes& f) {
  protocol::Reader r(f);
  Request q;
  q.key = r.i16();
  q.version = r.i16();
  q.corr = r.i32();
  q.client_id = r.nstring(false).value_or("");
  auto* info = protocol::find_api(q.key);
  if (info && info->is_flexible(q.version)) {
    uint32_t n = r.uvarint();
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  }
  auto rest = r.raw(r.remaining());
  q.body.assign(rest.begin(), rest.end());
  return q;
}

protocol::Bytes answer(const Request& q) {
  protocol::Writer w;
  w.i32(0);
  w.i32(q.corr);
  auto* info = protocol::find_api(q.key);
  bool flexible = info && info->is_flexible(q.version);
  if (q.key == protocol::api_key::ApiVersions) {  // a real ApiVersions answer, header v0
    protocol::ApiVersionsRequest req;
    protocol::Reader r(q.body);
    req.decode(r, q.version);
    protocol::ApiVersionsResponse resp;
    resp.error_code = r.ok() ? 0 : 42;
    protocol::ApiVersionsResponse::ApiVersion v;
    v.api_key = 18;
    v.min_version = 0;
    v.max_version = 3;
    resp.api_keys.push_back(v);
    resp.throttle_time_ms = static_cast<int32_t>(req.client_software_name.size());
    resp.encode(w, q.version);
  } else {
    if (flexible) w.uvarint(0);  // response header v1
    w.raw(q.body);
  }
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return std::move(w.buffer());
}

struct Server {
  tcp::acceptor acceptor;
  Mode mode;
  size_t batch = 3;
  int accepted = 0;
  explicit Server(asio::io_context& io, Mode m) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), mode(m) {}
  uint16_t port() const { return acceptor.local_endpoint().port(); }

  asio::awaitable<bool> read_request(tcp::socket& s, Request& q) {
    uint8_t head[4];
    asio::error_code ec;
    co_await asio::async_read(s, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    int32_t n = protocol::load_be32(head);
    if (n < 8 || n > (1 << 20)) co_return false;
    protocol::Bytes f(static_cast<size_t>(n));
    co_await asio::async_read(s, asio::buffer(f), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    q = parse(f);
    co_return true;
  }

  asio::awaitable<void> serve(tcp::socket s, int nth) {
    asio::error_code ec;
    std::vector<Request> held;
    for (;;) {
      Request q;
      if (!co_await read_request(s, q)) co_return;
      if (mode == Mode::kSilent) continue;
      if (mode == Mode::kCloseFirst && nth == 1) {
        s.close(ec);
        co_return;
      }
      if (mode == Mode::kHuge) {
        uint8_t h[8] = {0x40, 0, 0, 0};
        protocol::store_be32(h + 4, q.corr);
        co_await asio::async_write(s, asio::buffer(h), asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      held.push_back(q);
      if (mode == Mode::kReverseBatch && held.size() < batch) continue;
      for (auto it = held.rbegin(); it != held.rend(); ++it) {
        auto out = answer(*it);
        co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      held.clear();
    }
  }

  asio::awaitable<void> run() {
    for (;;) {
      asio::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(acceptor.get_executor(), serve(std::move(s), ++accepted), asio::detached);
    }
  }
};

struct Fixture : ::testing::Test {
  asio::io_context io;
  TcpTransport transport{io.get_executor(), 2000};
  SystemClock& clock = SystemClock::instance();
  uint64_t seed = random_seed();
  Random rng{seed};
  std::unique_ptr<Server> server;
  std::shared_ptr<KafkaClient> client;
  void SetUp() override { RecordProperty("seed", std::to_string(seed)); }

  void start(Mode m, KafkaClientOptions o = {}) {
    server = std::make_unique<Server>(io, m);
    asio::co_spawn(io, server->run(), asio::detached);
    o.host = "127.0.0.1";
    o.port = server->port();
    client = KafkaClient::create(io.get_executor(), transport, clock, rng, o);
  }
  // Runs `body` to completion (bounded), then stops everything.
  template <typename F>
  void run(F body) {
    bool finished = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      co_await body();
      finished = true;
      client->close();
      asio::error_code ec;
      if (server) server->acceptor.close(ec);
    }, asio::detached);
    io.run_for(20s);
    ASSERT_TRUE(finished) << "seed " << seed;
  }
};

protocol::Bytes bytes_of(std::string s) { return protocol::Bytes(s.begin(), s.end()); }

using NetKafkaClient = Fixture;

TEST_F(NetKafkaClient, MatchesThreeResponsesInFlightAnsweredOutOfOrder) {
  start(Mode::kReverseBatch);
  std::vector<ClientResponse> got(3);
  run([&]() -> asio::awaitable<void> {
    int done = 0;
    asio::steady_timer all(io, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        // Metadata v1 (header v1) and v9+ (flexible, header v2) alike.
        int16_t version = i == 1 ? 12 : 1;
        got[i] = co_await client->send(protocol::api_key::Metadata, version, bytes_of("req" + std::to_string(i)), 5s);
        if (++done == 3) all.cancel();
      }, asio::detached);
    }
    asio::error_code ec;
    co_await all.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(client->in_flight(), 0u);
  });
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(got[i].ok()) << i << ": " << to_string(got[i].error);
    auto b = got[i].body();
    EXPECT_EQ(std::string(b.begin(), b.end()), "req" + std::to_string(i));
  }
  EXPECT_EQ(client->connects(), 1u);
}

TEST_F(NetKafkaClient, TypedCallWithFlexibleHeader) {
  start(Mode::kEcho);
  run([&]() -> asio::awaitable<void> {
    protocol::ApiVersionsRequest req;
    req.client_software_name = "samsa-test";
    req.client_software_version = "1";
    protocol::ApiVersionsResponse resp;
    auto e = co_await client->call(protocol::api_key::ApiVersions, 3, req, resp, 5s);
    EXPECT_EQ(e, ClientError::kNone) << to_string(e);
    EXPECT_EQ(resp.error_code, 0);  // the server decoded header v2 and the v3 body
    EXPECT_EQ(resp.throttle_time_ms, 10);
    EXPECT_EQ(resp.api_keys.size(), 1u);
    if (resp.api_keys.size() == 1) {
      EXPECT_EQ(resp.api_keys[0].max_version, 3);
    }
  });
}

TEST_F(NetKafkaClient, TimeoutWhenTheServerDoesNotAnswerResetsTheConnection) {
  start(Mode::kSilent);
  run([&]() -> asio::awaitable<void> {
    auto r = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 100ms);
    EXPECT_EQ(r.error, ClientError::kTimeout);
    EXPECT_FALSE(client->connected());
    EXPECT_EQ(client->in_flight(), 0u);
  });
}

TEST_F(NetKafkaClient, ReconnectsAfterTheServerClosesTheConnection) {
  KafkaClientOptions o;
  o.reconnect_backoff_ms = 1;
  start(Mode::kCloseFirst, o);
  run([&]() -> asio::awaitable<void> {
    auto r1 = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("a"), 5s);
    EXPECT_EQ(r1.error, ClientError::kDisconnected);
    auto r2 = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("b"), 5s);
    EXPECT_TRUE(r2.ok()) << to_string(r2.error);
    EXPECT_EQ(client->connects(), 2u);
  });
  EXPECT_EQ(server->accepted, 2);
}

TEST_F(NetKafkaClient, BackoffGrowsAndIsBoundedWhenConnectsAreRefused) {
  // A port that was just free: nothing listens, connects are refused.
  uint16_t port;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  KafkaClientOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.reconnect_backoff_ms = 2;
  o.reconnect_backoff_max_ms = 20;
  client = KafkaClient::create(io.get_executor(), transport, clock, rng, o);
  std::vector<int64_t> delays;
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 8; ++i) {
      auto r = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 5s);
      EXPECT_EQ(r.error, ClientError::kConnectFailed);
      delays.push_back(client->last_backoff_ms());
    }
  });
  ASSERT_EQ(delays.size(), 8u);
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], 1) << i;
    EXPECT_LE(delays[i], 20) << i;
  }
  // 2, 4, 8, 16 (each +/-20%) strictly grow; later ones sit at the cap (16..20).
  for (size_t i = 1; i < 4; ++i) EXPECT_GT(delays[i], delays[i - 1]) << "seed " << seed;
  for (size_t i = 4; i < delays.size(); ++i) EXPECT_GE(delays[i], 16);
  EXPECT_EQ(client->consecutive_failures(), 8);
}

TEST(NetReconnectBackoff, SameSeedSameDelaysAndResetOnSuccess) {
  Random a(99), b(99);
  ReconnectBackoff x(50, 1000, 0.2, a), y(50, 1000, 0.2, b);
  for (int i = 0; i < 10; ++i) {
    int64_t d = x.on_failure();
    EXPECT_EQ(d, y.on_failure());
    EXPECT_LE(d, 1000);
  }
  x.on_success();
  EXPECT_EQ(x.failures(), 0);
  int64_t first = x.on_failure();
  EXPECT_GE(first, 40);
  EXPECT_LE(first, 60);
}

TEST_F(NetKafkaClient, RefusesATooLargeResponseBeforeAllocating) {
  KafkaClientOptions o;
  o.max_response_bytes = 1 << 20;
  start(Mode::kHuge, o);
  run([&]() -> asio::awaitable<void> {
    auto r = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 5s);
    EXPECT_EQ(r.error, ClientError::kResponseTooLarge);
    EXPECT_FALSE(client->connected());
  });
}

TEST_F(NetKafkaClient, BoundsRequestsInFlight) {
  KafkaClientOptions o;
  o.max_in_flight = 2;
  start(Mode::kSilent, o);
  std::vector<ClientError> errs;
  run([&]() -> asio::awaitable<void> {
    int done = 0;
    asio::steady_timer all(io, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        auto r = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 300ms);
        errs.push_back(r.error);
        if (++done == 3) all.cancel();
      }, asio::detached);
    }
    asio::error_code ec;
    co_await all.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0], ClientError::kTooManyInFlight);  // refused at once; the others time out / reset
  EXPECT_EQ(std::count(errs.begin(), errs.end(), ClientError::kTooManyInFlight), 1);
}

// The backoff is kept on the Clock: with a manual clock that does not move, a
// send after a refused connect waits out its own timeout without connecting;
// once the clock passes the backoff, the next send tries at once.
TEST_F(NetKafkaClient, BackoffIsKeptOnTheClock) {
  uint16_t port;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  ManualClock manual(0, 1000);
  KafkaClientOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.reconnect_backoff_ms = 60'000;
  o.reconnect_backoff_max_ms = 60'000;
  client = KafkaClient::create(io.get_executor(), transport, manual, rng, o);
  run([&]() -> asio::awaitable<void> {
    auto r1 = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 5s);
    EXPECT_EQ(r1.error, ClientError::kConnectFailed);
    EXPECT_EQ(client->consecutive_failures(), 1);
    auto r2 = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 50ms);
    EXPECT_EQ(r2.error, ClientError::kTimeout);  // still backing off: no attempt made
    EXPECT_EQ(client->consecutive_failures(), 1);
    manual.advance(client->last_backoff_ms());
    auto r3 = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 5s);
    EXPECT_EQ(r3.error, ClientError::kConnectFailed);
    EXPECT_EQ(client->consecutive_failures(), 2);
  });
}

TEST_F(NetKafkaClient, CloseFailsRequestsInFlightAndLaterSends) {
  start(Mode::kSilent);
  std::vector<ClientError> errs;
  run([&]() -> asio::awaitable<void> {
    bool done = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      auto r = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("x"), 10s);
      errs.push_back(r.error);
      done = true;
    }, asio::detached);
    for (int i = 0; i < 100 && client->in_flight() == 0; ++i) {
      asio::steady_timer t(io, 5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    client->close();
    for (int i = 0; i < 100 && !done; ++i) {
      asio::steady_timer t(io, 5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    auto r = co_await client->send(protocol::api_key::Metadata, 1, bytes_of("y"), 1s);
    errs.push_back(r.error);
  });
  EXPECT_EQ(errs, (std::vector<ClientError>{ClientError::kClosed, ClientError::kClosed}));
}

}  // namespace
}  // namespace samsa::net
