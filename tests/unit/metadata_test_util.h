// Helpers for tests of the metadata seam (controller, loader, metadata log).
#pragma once
#include <asio.hpp>
#include <gtest/gtest.h>

#include <optional>

namespace samsa::testing {

// Runs an awaitable to completion on `io` (and whatever it waits for there).
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(op), [&out](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.restart();
  io.run();
  EXPECT_TRUE(out.has_value());
  return out ? std::move(*out) : T{};
}

}  // namespace samsa::testing
