// Waits for this node's metadata image to show a change: a broker that
// forwarded a change to the active controller answers its client only once
// its own image holds it (the controller's answer can arrive before the
// committed records reach this node's loader).
//
// Threads: lives on shard 0, where the metadata loader publishes; on_image()
// and wait_for() run there only.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>

#include "cluster/metadata_image.h"

namespace samsa::server {

class ImageWaiter {
 public:
  using Predicate = std::function<bool(const cluster::MetadataImage&)>;

  // Every image the loader publishes, in order.
  void on_image(cluster::ImagePtr image);
  // Resumes once `pred` holds for the latest image (at once if it already
  // does) or when `timeout` passes; true if it held.
  asio::awaitable<bool> wait_for(Predicate pred, std::chrono::milliseconds timeout);
  size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter {
    Predicate pred;
    std::unique_ptr<asio::steady_timer> timer;
    bool satisfied = false;
  };
  cluster::ImagePtr latest_;
  std::list<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace samsa::server
