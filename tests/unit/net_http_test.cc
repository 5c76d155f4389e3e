// The HTTP request parser's bounds and the server over real loopback sockets.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <thread>

#include "net/http_parser.h"
#include "net/http_server.h"

namespace samsa::net {
namespace {

HttpParseResult parse(std::string_view s, HttpLimits limits = {}) { return parse_http_head(s, limits); }

TEST(HttpParser, ParsesRequestLineHeadersAndQuery) {
  auto r = parse("GET /v1/topics%2Fx?search=a%20b&limit=5 HTTP/1.1\r\nHost: h\r\nX-Thing:  v  \r\n\r\nrest");
  ASSERT_EQ(r.status, HttpParse::kDone);
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/v1/topics/x");
  EXPECT_EQ(r.request.param("search"), "a b");
  EXPECT_EQ(r.request.param("limit"), "5");
  EXPECT_EQ(r.request.param("missing"), std::nullopt);
  EXPECT_EQ(r.request.header("x-thing"), "v");
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_EQ(r.head_bytes, std::string_view("GET /v1/topics%2Fx?search=a%20b&limit=5 HTTP/1.1\r\nHost: h\r\nX-Thing:  v  \r\n\r\n").size());
}

TEST(HttpParser, IncompleteUntilTheBlankLine) {
  EXPECT_EQ(parse("").status, HttpParse::kIncomplete);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\n").status, HttpParse::kIncomplete);
}

TEST(HttpParser, KeepAliveRules) {
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").request.keep_alive);
}

TEST(HttpParser, MalformedRequestsAreRejected) {
  for (std::string_view bad : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n",
                               "GET noslash HTTP/1.1\r\nHost: h\r\n\r\n", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
                               "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\n: empty\r\n\r\n",
                               "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",  // no Host
                               "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                               "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n",
                               "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                               "GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
                               "GET / HTTP/x.1\r\nHost: h\r\n\r\n"}) {
    auto r = parse(bad);
    EXPECT_EQ(r.status, HttpParse::kBadRequest) << bad;
    EXPECT_EQ(http_status_for(r.status), 400);
  }
  EXPECT_EQ(parse("GET / HTTP/2.0\r\n\r\n").status, HttpParse::kBadVersion);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n").status, HttpParse::kNotImplemented);
}

TEST(HttpParser, BoundsOnHeadHeadersAndBody) {
  HttpLimits limits;
  limits.max_head_bytes = 64;
  limits.max_headers = 2;
  limits.max_body_bytes = 10;
  EXPECT_EQ(parse(std::string(100, 'a'), limits).status, HttpParse::kHeadTooLarge);  // never ends: cut off
  EXPECT_EQ(parse("GET /" + std::string(70, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits).status, HttpParse::kHeadTooLarge);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits).status, HttpParse::kHeadTooLarge);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n", limits).status, HttpParse::kDone);
  auto big = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits);
  EXPECT_EQ(big.status, HttpParse::kBodyTooLarge);
  EXPECT_EQ(http_status_for(big.status), 413);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n").status,
            HttpParse::kBadRequest);
}

TEST(HttpParser, ResponseSerialisation) {
  HttpResponse r{405, "application/json", "{}", {{"Allow", "GET, HEAD"}}};
  auto text = serialize_http_response(r, true, false);
  EXPECT_EQ(text.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(text.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(text.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_NE(text.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 6), "\r\n\r\n{}");
  auto head = serialize_http_response(r, false, true);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
}

// A server on an ephemeral loopback port answering "/": the request path in the body.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpLimits limits;
    limits.head_timeout_ms = 300;
    limits.max_head_bytes = 1024;
    server_ = std::make_unique<HttpServer>(io_, limits, [](const HttpRequest& req) -> asio::awaitable<HttpResponse> {
      co_return HttpResponse{200, "text/plain", "path=" + req.path, {}};
    });
    ASSERT_EQ(server_->bind("127.0.0.1", 0), "");
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  // Sends `bytes`, then reads until the server closes (or 2 s pass).
  std::string exchange(const std::string& bytes, bool half_close = true) {
    asio::io_context cio;
    asio::ip::tcp::socket s(cio);
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(server_->port())});
    // The server may answer and close before all is sent (an oversized head): errors here are fine.
    asio::error_code wec;
    asio::write(s, asio::buffer(bytes), wec);
    if (half_close) s.shutdown(asio::ip::tcp::socket::shutdown_send, wec);
    timeval tv{2, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (int i = 0; i < 1000; ++i) {
      asio::error_code ec;
      size_t n = s.read_some(asio::buffer(buf), ec);
      closed_by_server_ = ec == asio::error::eof || ec == asio::error::connection_reset;
      if (ec || n == 0) break;
      out.append(buf, n);
    }
    return out;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{asio::make_work_guard(io_)};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  bool closed_by_server_ = false;  // the last exchange ended with EOF, not the 2 s read timeout
};

TEST_F(HttpServerTest, KeepAliveServesPipelinedRequestsInOrder) {
  auto out = exchange("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  auto a = out.find("path=/a");
  auto b = out.find("path=/b");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  EXPECT_LT(a, b);
}

TEST_F(HttpServerTest, HeadHasNoBody) {
  auto out = exchange("HEAD /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Content-Length: 7\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("path=/a"), std::string::npos);
}

TEST_F(HttpServerTest, GarbageGetsAnErrorStatusAndTheConnectionCloses) {
  auto out = exchange(std::string("\x00\x01\x02 garbage\r\n\r\n", 16));
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << out;
  auto big = exchange(std::string(5000, 'x'));
  EXPECT_EQ(big.rfind("HTTP/1.1 431 ", 0), 0u) << big;
}

TEST_F(HttpServerTest, SlowSenderIsCutOff) {
  // Half a request and no more: the head timeout (300 ms) closes the connection.
  auto out = exchange("GET /a HTTP/1.1\r\n", false);
  EXPECT_EQ(out, "");
  EXPECT_TRUE(closed_by_server_);
}

}  // namespace
}  // namespace samsa::net
