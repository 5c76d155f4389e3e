// Units of the request layer that need no Broker: the API table and
// ApiVersions, the in-memory response budget, the worker pool.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "protocol/api_listeners.h"
#include "protocol/api_registry.h"
#include "protocol/messages/api_versions.h"
#include "server/handlers.h"
#include "server/response_budget.h"
#include "server/worker_pool.h"

namespace samsa::server {
namespace {

template <typename T>
T run_coro(asio::io_context& io, asio::awaitable<T> coro) {
  std::optional<T> out;
  std::exception_ptr err;
  asio::co_spawn(io, std::move(coro), [&](std::exception_ptr e, T v) {
    err = e;
    if (!e) out = std::move(v);
  });
  io.run_for(std::chrono::seconds(10));
  io.restart();
  if (err) std::rethrow_exception(err);
  EXPECT_TRUE(out.has_value()) << "the coroutine did not finish";
  return std::move(*out);
}

TEST(ServerHandlers, TableHasOneKnownHandlerPerApiKey) {
  std::set<int16_t> keys;
  for (auto& h : handlers()) {
    EXPECT_TRUE(keys.insert(h.api_key).second) << "api key " << h.api_key << " twice";
    EXPECT_NE(protocol::find_api(h.api_key), nullptr) << "api key " << h.api_key << " has no schema";
    EXPECT_EQ(find_handler(h.api_key), &h);
  }
  for (int16_t k : {0, 1, 3, 18})
    EXPECT_NE(find_handler(k), nullptr) << k;  // produce, fetch, metadata, api versions
  EXPECT_EQ(find_handler(-1), nullptr);
  EXPECT_EQ(find_handler(4), nullptr);  // LeaderAndIsr: ZooKeeper-era inter-broker API, not served
  EXPECT_EQ(find_handler(32767), nullptr);
}

// Decodes an ApiVersions response body of version `v` from a response frame
// (size, correlation id, header v0, body).
protocol::ApiVersionsResponse decode_api_versions(net::Response& r, int16_t v, int32_t correlation_id) {
  auto& buf = r.frame.buffer();
  protocol::Reader rd(buf.data(), buf.size());
  rd.i32();  // size, patched by the connection
  EXPECT_EQ(rd.i32(), correlation_id);
  protocol::ApiVersionsResponse resp;
  resp.decode(rd, v);
  EXPECT_TRUE(rd.ok());
  return resp;
}

TEST(ServerHandlers, ApiVersionsAdvertisesExactlyTheTable) {
  asio::io_context io;
  RequestContext ctx;
  ctx.api_key = 18;
  ctx.api_version = 3;
  ctx.flexible = true;
  ctx.correlation_id = 42;
  protocol::ApiVersionsRequest req;
  req.client_software_name = "samsa-unit";
  req.client_software_version = "1.0";
  protocol::Writer w;
  req.encode(w, 3);
  protocol::Reader rd(w.buffer().data(), w.buffer().size());
  auto r = run_coro(io, handle_api_versions(ctx, rd));
  auto resp = decode_api_versions(r, 3, 42);
  EXPECT_EQ(resp.error_code, 0);
  ASSERT_EQ(resp.api_keys.size(), handlers().size());
  for (auto& k : resp.api_keys) {
    auto* info = protocol::find_api(k.api_key);
    ASSERT_NE(info, nullptr);
    auto* h = find_handler(k.api_key);
    ASSERT_NE(h, nullptr);
    EXPECT_TRUE(info->served_on(protocol::ApiListener::broker));
    EXPECT_EQ(k.min_version, info->min_version);
    EXPECT_EQ(k.max_version, protocol::served_max_version(*info, h->max_version));
    if (h->max_version < 0) EXPECT_EQ(k.max_version, info->max_version);
  }
  // The broker's Fetch handler serves the whole schema, 0-17 (issue 17: topic ids, sessions).
  auto fetch = std::find_if(resp.api_keys.begin(), resp.api_keys.end(), [](auto& k) { return k.api_key == 1; });
  ASSERT_NE(fetch, resp.api_keys.end());
  EXPECT_EQ(fetch->max_version, 17);
  // KAFKA-17492: before v4 a feature whose minimum is 0 is left out; v4 lists transaction.version 0-2.
  EXPECT_TRUE(resp.supported_features.empty());
  protocol::Writer w4;
  req.encode(w4, 4);
  protocol::Reader rd4(w4.buffer().data(), w4.buffer().size());
  ctx.api_version = 4;
  auto r4 = run_coro(io, handle_api_versions(ctx, rd4));
  auto resp4 = decode_api_versions(r4, 4, 42);
  ASSERT_EQ(resp4.supported_features.size(), 1u);
  EXPECT_EQ(resp4.supported_features[0].name, "transaction.version");
  EXPECT_EQ(resp4.supported_features[0].min_version, 0);
  EXPECT_EQ(resp4.supported_features[0].max_version, 2);
}

TEST(ServerHandlers, BrokerNeverAdvertisesControllerOnlyApis) {
  for (auto& h : handlers()) {
    auto* info = protocol::find_api(h.api_key);
    ASSERT_NE(info, nullptr);
    EXPECT_TRUE(info->served_on(protocol::ApiListener::broker)) << info->name << " is controller-only";
  }
  // Even a handler table that lists them: the scope filters them out.
  std::vector<protocol::ServedApi> served = {{18, -1}, {52, -1}, {53, -1}, {54, -1}, {55, -1}, {59, -1}, {82, -1}};
  auto broker = protocol::api_versions_for(protocol::ApiListener::broker, served);
  std::vector<int16_t> keys;
  for (auto& k : broker.api_keys) keys.push_back(k.api_key);
  EXPECT_EQ(keys, (std::vector<int16_t>{18, 55}));  // ApiVersions, DescribeQuorum
  auto controller = protocol::api_versions_for(protocol::ApiListener::controller, served);
  keys.clear();
  for (auto& k : controller.api_keys) keys.push_back(k.api_key);
  EXPECT_EQ(keys, (std::vector<int16_t>{18, 52, 53, 54, 55, 59, 82}));
  EXPECT_EQ(controller.api_keys[1].max_version, 2);  // Vote 0-2
}

TEST(ServerHandlers, ApiVersionsRefusesAnEmptySoftwareName) {
  asio::io_context io;
  RequestContext ctx;
  ctx.api_key = 18;
  ctx.api_version = 3;
  ctx.flexible = true;
  protocol::ApiVersionsRequest req;
  req.client_software_name = "";  // KIP-511: must match [a-zA-Z0-9](...)
  req.client_software_version = "1.0";
  protocol::Writer w;
  req.encode(w, 3);
  protocol::Reader rd(w.buffer().data(), w.buffer().size());
  auto r = run_coro(io, handle_api_versions(ctx, rd));
  auto resp = decode_api_versions(r, 3, 0);
  EXPECT_EQ(resp.error_code, to_int(ErrorCode::INVALID_REQUEST));
  EXPECT_TRUE(resp.api_keys.empty());
}

TEST(ServerHandlers, UnsupportedVersionAnswersInVersionZero) {
  RequestContext ctx;
  ctx.api_key = 18;
  ctx.api_version = 99;
  ctx.flexible = true;
  ctx.correlation_id = 7;
  auto r = unsupported_api_versions(ctx);
  auto resp = decode_api_versions(r, 0, 7);
  EXPECT_EQ(resp.error_code, to_int(ErrorCode::UNSUPPORTED_VERSION));
  EXPECT_EQ(resp.api_keys.size(), handlers().size());
}

TEST(ServerResponseBudget, ReservesWithinCapacityAndReleasesOnDestruction) {
  ResponseBudget b(1000);
  auto a = b.try_acquire(600);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(b.in_use(), 600u);
  EXPECT_EQ(b.try_acquire(500), nullptr);  // 1100 > 1000
  auto c = b.try_acquire(400);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(b.in_use(), 1000u);
  c->shrink_to(100);
  EXPECT_EQ(b.in_use(), 700u);
  c.reset();
  a.reset();
  EXPECT_EQ(b.in_use(), 0u);
}

TEST(ServerResponseBudget, OneOversizedResponseGoesOutAlone) {
  ResponseBudget b(1000);
  auto big = b.try_acquire(5000);  // nothing held: granted, or it could never be sent
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(b.try_acquire(1), nullptr);  // while it is held, nothing else fits
  big.reset();
  EXPECT_NE(b.try_acquire(1), nullptr);
}

TEST(ServerResponseBudget, AcquireWaitsForReleaseAndGivesUpInTime) {
  asio::io_context io;
  ResponseBudget b(100);
  auto held = b.try_acquire(100);
  // Nobody releases: the bounded wait ends with nothing.
  auto none = run_coro(io, b.acquire(50, std::chrono::milliseconds(30)));
  EXPECT_EQ(none, nullptr);
  // Released while waiting: granted.
  asio::steady_timer t(io, std::chrono::milliseconds(5));
  t.async_wait([&](std::error_code) { held.reset(); });
  auto got = run_coro(io, b.acquire(50, std::chrono::seconds(5)));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(b.in_use(), 50u);
}

TEST(ServerWorkerPool, RunsOffTheCallerAndResumesOnIt) {
  asio::io_context io;
  WorkerPool pool(1, 4);
  auto caller = std::this_thread::get_id();
  auto coro = [&]() -> asio::awaitable<int> {
    auto op = pool.run([caller] {
      EXPECT_NE(std::this_thread::get_id(), caller);
      return 41;
    });
    int v = co_await std::move(op);
    EXPECT_EQ(std::this_thread::get_id(), caller);  // resumed on the io_context's thread
    co_return v + 1;
  };
  EXPECT_EQ(run_coro(io, coro()), 42);
}

TEST(ServerWorkerPool, ExceptionReachesTheCaller) {
  asio::io_context io;
  WorkerPool pool(1, 4);
  auto coro = [&]() -> asio::awaitable<int> {
    auto op = pool.run([]() -> int { throw std::runtime_error("bad batch"); });
    co_return co_await std::move(op);
  };
  EXPECT_THROW(run_coro(io, coro()), std::runtime_error);
}

TEST(ServerWorkerPool, QueueIsBoundedAndEveryTaskRuns) {
  asio::io_context io;
  WorkerPool pool(1, 2);
  std::atomic<int> max_seen{0}, ran{0};
  auto one = [&]() -> asio::awaitable<int> {
    auto op = pool.run([&] {
      int q = static_cast<int>(pool.queued());
      int m = max_seen.load();
      while (q > m && !max_seen.compare_exchange_weak(m, q)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return ++ran;
    });
    co_return co_await std::move(op);
  };
  int done = 0;
  for (int i = 0; i < 10; ++i)
    asio::co_spawn(io, one(), [&](std::exception_ptr e, int) {
      EXPECT_FALSE(e);
      ++done;
    });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(done, 10);
  EXPECT_EQ(ran.load(), 10);
  EXPECT_LE(max_seen.load(), 2);  // never more queued or running than max_queued
}

}  // namespace
}  // namespace samsa::server
