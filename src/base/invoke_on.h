// The one way to run work on another shard and get its result back:
//
// - invoke_on(io, fn): runs `fn` on the event loop `io` (a shard's) and
//   resumes the calling coroutine on its own executor with the result. `fn`
//   is a plain callable (runs once, to completion) or returns an
//   asio::awaitable<T> (spawned on `io`, may wait there as long as it needs).
//   The result always comes back through a post to the caller's executor, so
//   whatever the target posted to the caller before finishing (e.g. a new
//   metadata image) has run when the caller resumes.
// - fan_out(items, shards, owner_of, io_of, fn): groups `items` by owning
//   shard, runs `fn(shard, group)` on every shard that owns some, all shards
//   in parallel, and resumes the caller once all are done. Each item carries
//   its own result, so results stay in the request's order.
// - invoke_on_blocking(io, fn): for threads that run no shard (start-up,
//   shutdown): runs `fn` on `io` and blocks until it has run.
//
// Exceptions thrown by `fn` are rethrown in the caller. No lock anywhere:
// completions are posted back to the caller's shard, which alone counts them.
//
// GCC 12 caveat (miscompiles temporaries in co_await expressions): GCC 12
// destroys a capturing lambda twice when it appears in the same full
// expression as co_await. Never write `co_await invoke_on(io, [x] {...})`;
// write `auto op = invoke_on(io, [x] {...}); auto r = co_await std::move(op);`.
// These functions are deliberately not coroutines themselves (GCC 12 also
// mishandles lambdas capturing coroutine parameters): the callable travels as
// an initiation argument.
//
// Threads: any shard may call invoke_on / fan_out from a coroutine running on
// its event loop; `fn` runs on the target's thread.
#pragma once
#include <asio.hpp>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/shard_affinity.h"

namespace samsa {

namespace detail {

template <typename T>
struct awaitable_traits {
  static constexpr bool is_awaitable = false;
};
template <typename T, typename E>
struct awaitable_traits<asio::awaitable<T, E>> {
  static constexpr bool is_awaitable = true;
  using type = T;  // what the coroutine returns
};

// What invoke_on(io, fn) resumes the caller with.
template <typename F, typename R = std::invoke_result_t<F&>>
using invoke_value_t =
    typename std::conditional_t<awaitable_traits<R>::is_awaitable, awaitable_traits<R>, std::type_identity<R>>::type;

// The completion signature for a result of type T.
template <typename T>
struct completion {
  using type = void(std::exception_ptr, T);
};
template <>
struct completion<void> {
  using type = void(std::exception_ptr);
};

// Posts the completion to the handler's own executor (the caller's shard).
template <typename Handler, typename... Args>
void post_home(Handler handler, Args... args) {
  auto ex = asio::get_associated_executor(handler);
  asio::post(ex, [handler = std::move(handler), ... args = std::move(args)]() mutable {
    std::move(handler)(std::move(args)...);
  });
}

}  // namespace detail

template <typename F>
asio::awaitable<detail::invoke_value_t<F>> invoke_on(asio::io_context& target, F fn) {
  using R = std::invoke_result_t<F&>;
  using T = detail::invoke_value_t<F>;
  using Signature = typename detail::completion<T>::type;
  auto initiate = [&target](auto handler, F f) {
    if constexpr (detail::awaitable_traits<R>::is_awaitable) {
      // co_spawn keeps `f` (and what it captures) alive until its coroutine ends.
      if constexpr (std::is_void_v<T>) {
        asio::co_spawn(target, std::move(f), [handler = std::move(handler)](std::exception_ptr e) mutable {
          detail::post_home(std::move(handler), e);
        });
      } else {
        asio::co_spawn(target, std::move(f), [handler = std::move(handler)](std::exception_ptr e, T r) mutable {
          detail::post_home(std::move(handler), e, std::move(r));
        });
      }
    } else {
      asio::post(target, [handler = std::move(handler), f = std::move(f)]() mutable {
        std::exception_ptr e;
        if constexpr (std::is_void_v<T>) {
          try {
            f();
          } catch (...) {
            e = std::current_exception();
          }
          detail::post_home(std::move(handler), e);
        } else {
          T r{};
          try {
            r = f();
          } catch (...) {
            e = std::current_exception();
          }
          detail::post_home(std::move(handler), e, std::move(r));
        }
      });
    }
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, Signature>(initiate, asio::use_awaitable, std::move(fn));
}

// Runs `fn(shard, group)` on each shard owning some of `items` — `group` the
// pointers to its items, in request order — all shards in parallel. `fn`
// returns void or asio::awaitable<void> and stores its results in the items;
// a copy of it runs per shard (the last shard gets the original, moved), and
// it lives until that shard's work has finished. `items` must outlive the
// await. `owner_of(item)` is the owning shard in [0, shard_count),
// `io_of(shard)` its event loop.
template <typename Item, typename OwnerOf, typename IoOf, typename Fn>
asio::awaitable<void> fan_out(std::vector<Item>& items, int shard_count, OwnerOf owner_of, IoOf io_of, Fn fn) {
  using Group = std::vector<Item*>;
  std::vector<Group> groups(static_cast<size_t>(shard_count));
  for (auto& it : items) groups[static_cast<size_t>(owner_of(it))].push_back(&it);
  auto initiate = [io_of = std::move(io_of)](auto handler, std::vector<Group> by_shard, Fn f) mutable {
    using Handler = decltype(handler);
    struct Join {
      Handler handler;
      int pending = 0;
      std::exception_ptr error;
    };
    int busy = 0;
    for (auto& g : by_shard) busy += g.empty() ? 0 : 1;
    auto join = std::make_shared<Join>(Join{std::move(handler), busy, nullptr});
    auto home = asio::get_associated_executor(join->handler);
    if (busy == 0) {
      asio::post(home, [join] { std::move(join->handler)(std::exception_ptr()); });
      return;
    }
    // Runs on the caller's shard: only it counts, so no atomics.
    auto done = [join, home](std::exception_ptr e) {
      asio::post(home, [join, e] {
        if (e && !join->error) join->error = e;
        if (--join->pending == 0) std::move(join->handler)(join->error);
      });
    };
    for (int shard = 0; shard < static_cast<int>(by_shard.size()); ++shard) {
      if (by_shard[shard].empty()) continue;
      std::optional<Fn> fn_here;
      if (--busy == 0) fn_here.emplace(std::move(f));
      else fn_here.emplace(f);
      using R = std::invoke_result_t<Fn&, int, Group&>;
      if constexpr (detail::awaitable_traits<R>::is_awaitable) {
        // The lambda (fn and the group) lives in co_spawn's frame until the work ends.
        asio::co_spawn(io_of(shard),
                       [fn = std::move(*fn_here), shard, group = std::move(by_shard[shard])]() mutable {
                         return fn(shard, group);
                       },
                       done);
      } else {
        asio::post(io_of(shard), [fn = std::move(*fn_here), shard, group = std::move(by_shard[shard]), done]() mutable {
          std::exception_ptr e;
          try {
            fn(shard, group);
          } catch (...) {
            e = std::current_exception();
          }
          done(e);
        });
      }
    }
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
      std::move(initiate), asio::use_awaitable, std::move(groups), std::move(fn));
}

// From a thread that runs no shard: runs `fn` on `target` and waits for it.
template <typename F>
void invoke_on_blocking(asio::io_context& target, F&& fn) {
  assert_not_on_shard("invoke_on_blocking");
  std::promise<void> ran;
  asio::post(target, [&ran, &fn] {
    fn();
    ran.set_value();
  });
  ran.get_future().wait();
}

}  // namespace samsa
