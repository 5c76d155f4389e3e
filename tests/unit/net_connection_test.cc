// net::Connection against a real loopback socket: requests of one connection
// take effect one at a time (the next handler starts only when the previous
// request's ApplyToken is gone), answers stay in order, and the idle /
// incomplete-request watchdog closes connections.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <asio.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "net/connection.h"
#include "protocol/wire.h"

namespace samsa::net {
namespace {

using namespace std::chrono_literals;

// What the handlers saw, in the order they saw it (handlers run on the io
// thread; tokens may be dropped elsewhere).
struct Log {
  std::mutex mu;
  std::vector<std::string> events;
  void add(std::string e) {
    std::lock_guard l(mu);
    events.push_back(std::move(e));
  }
  ptrdiff_t index_of(const std::string& e) {
    std::lock_guard l(mu);
    auto it = std::find(events.begin(), events.end(), e);
    return it == events.end() ? -1 : it - events.begin();
  }
};

// How request i behaves: sleeps `before_ms` with its token held, then lets go
// of the token (on another thread when `release_elsewhere`) unless
// `keep_token`, then sleeps `after_ms` before answering.
struct Script {
  int before_ms = 0;
  int after_ms = 0;
  bool keep_token = false;
  bool release_elsewhere = false;
};

asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<Response> scripted(Log* log, std::vector<Script>* scripts, std::shared_ptr<protocol::FrameBytes> f,
                                   ApplyToken token) {
  int i = static_cast<int>(protocol::load_be32(f->data()));
  const Script& s = scripts->at(static_cast<size_t>(i));
  log->add("start " + std::to_string(i));
  if (s.before_ms) co_await sleep_ms(s.before_ms);
  if (!s.keep_token) {
    log->add("applied " + std::to_string(i));
    if (s.release_elsewhere) {
      std::thread([t = std::move(token)]() mutable { t.reset(); }).join();
    } else {
      token.reset();
    }
  }
  if (s.after_ms) co_await sleep_ms(s.after_ms);
  if (s.keep_token) log->add("applied " + std::to_string(i));  // the token dies with the handler
  log->add("done " + std::to_string(i));
  Response r;
  r.frame.i32(0);
  r.frame.i32(i);
  co_return r;
}

// A broker-less server: one Connection on a background io thread, and a
// blocking client socket with a receive timeout.
class Harness {
 public:
  explicit Harness(RequestHandler handler, ConnectionLimits limits = {}) : work_(asio::make_work_guard(io_)) {
    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    client_.connect(acceptor.local_endpoint());
    timeval tv{10, 0};  // no read may block a test for ever
    ::setsockopt(client_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto server = acceptor.accept();
    conn_ = std::make_shared<Connection>(std::move(server), ConnectionInfo{1, "127.0.0.1", 0, 0}, limits,
                                         std::move(handler));
    conn_->on_close([this] { closed_ = true; });
    thread_ = std::thread([this] { io_.run(); });
    asio::post(io_, [c = conn_] { c->start(); });
  }
  ~Harness() {
    std::promise<void> closed;
    asio::post(io_, [&] {
      conn_->close();
      closed.set_value();
    });
    closed.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  void send_request(int i) {
    protocol::Writer w;
    w.i32(8);
    w.i32(i);
    w.i32(0);
    asio::write(client_, asio::buffer(w.buffer()));
  }
  // The answer's payload, or -1 when the connection closed / nothing came.
  int read_answer() {  // plain recv(): asio's blocking read would ignore SO_RCVTIMEO
    uint8_t buf[8];
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t n = ::recv(client_.native_handle(), buf + got, sizeof buf - got, 0);
      if (n <= 0) return -1;
      got += static_cast<size_t>(n);
    }
    return static_cast<int>(protocol::load_be32(buf + 4));
  }
  asio::ip::tcp::socket& client() { return client_; }
  bool closed() const { return closed_; }
  // The server side closed within 2 s (its on_close hook ran).
  bool wait_closed() {
    for (int i = 0; i < 100 && !closed_; ++i) std::this_thread::sleep_for(20ms);
    return closed_;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::ip::tcp::socket client_{io_};
  std::shared_ptr<Connection> conn_;
  std::atomic<bool> closed_{false};
  std::thread thread_;
};

RequestHandler scripted_handler(Log* log, std::vector<Script>* scripts) {
  return [log, scripts](const ConnectionInfo&, std::shared_ptr<protocol::FrameBytes> f, ApplyToken t) {
    return scripted(log, scripts, std::move(f), std::move(t));
  };
}

// Later requests finish their work sooner: handled concurrently, they would
// take effect in reverse order.
TEST(NetConnection, NextRequestStartsOnlyAfterThePreviousOneIsApplied) {
  Log log;
  std::vector<Script> scripts;
  const int n = 8;
  for (int i = 0; i < n; ++i) scripts.push_back({.before_ms = (n - i) * 5, .keep_token = (i % 2 == 0)});
  Harness h(scripted_handler(&log, &scripts));
  for (int i = 0; i < n; ++i) h.send_request(i);
  for (int i = 0; i < n; ++i) ASSERT_EQ(h.read_answer(), i) << "answers come back in request order";
  for (int i = 1; i < n; ++i) {
    auto applied_prev = log.index_of("applied " + std::to_string(i - 1));
    auto start = log.index_of("start " + std::to_string(i));
    ASSERT_GE(applied_prev, 0);
    EXPECT_GT(start, applied_prev) << "request " << i << " started before request " << i - 1 << " was applied";
  }
}

// A handler that lets go of its token early lets the next request run while
// it still waits (Produce acks=all waiting for the fsync): pipelining is kept,
// and the answers still come back in order.
TEST(NetConnection, EarlyReleaseLetsTheNextRequestRunWhileAnswersStayInOrder) {
  Log log;
  std::vector<Script> scripts = {{.after_ms = 300}, {.after_ms = 100, .release_elsewhere = true}, {}};
  Harness h(scripted_handler(&log, &scripts));
  for (int i = 0; i < 3; ++i) h.send_request(i);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(h.read_answer(), i);
  EXPECT_LT(log.index_of("start 1"), log.index_of("done 0")) << "request 1 waited for request 0's answer";
  EXPECT_LT(log.index_of("start 2"), log.index_of("done 1")) << "a token dropped on another thread was lost";
  EXPECT_GT(log.index_of("start 2"), log.index_of("applied 1"));
}

// One request that is answered at once, on a connection with the given idle limit.
struct IdleCase {
  Log log;
  std::vector<Script> scripts = {{}};
  Harness h;
  explicit IdleCase(int64_t idle_ms) : h(scripted_handler(&log, &scripts), ConnectionLimits{.idle_ms = idle_ms}) {}
};

TEST(NetConnection, IdleConnectionIsClosed) {
  IdleCase c(200);
  c.h.send_request(0);
  ASSERT_EQ(c.h.read_answer(), 0);
  EXPECT_EQ(c.h.read_answer(), -1) << "an idle connection stayed open";  // EOF after ~200 ms (10 s timeout)
  EXPECT_TRUE(c.h.wait_closed());
}

// One byte every 50 ms keeps bytes moving, but the request is not complete
// within idle_ms of its first byte.
TEST(NetConnection, SlowSenderIsClosed) {
  IdleCase c(300);
  const uint8_t request[12] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < sizeof request && !c.h.closed(); ++i) {  // 12 bytes: at most 600 ms
    asio::error_code ec;
    asio::write(c.h.client(), asio::buffer(request + i, 1), ec);
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(c.h.wait_closed()) << "a request trickling in byte by byte was not cut off";
  EXPECT_EQ(c.log.index_of("start 0"), -1);
}

TEST(NetConnection, ActiveConnectionIsNotClosedAsIdle) {
  Log log;
  std::vector<Script> scripts(6, Script{.before_ms = 100});  // each handled for longer than half the idle limit
  Harness h(scripted_handler(&log, &scripts), ConnectionLimits{.idle_ms = 150});
  for (int i = 0; i < 6; ++i) {
    h.send_request(i);
    ASSERT_EQ(h.read_answer(), i) << "closed while answering or right after an answer";
  }
}

}  // namespace
}  // namespace samsa::net
