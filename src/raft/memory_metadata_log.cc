#include "raft/memory_metadata_log.h"

namespace samsa::raft {

asio::awaitable<AppendResult> MemoryMetadataLog::append(std::vector<protocol::Bytes> values) {
  // A commit is never immediate in a real log: other work on this event loop
  // (another controller operation) runs before it.
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  if (!is_leader())
    co_return AppendResult{ErrorCode::NOT_LEADER_OR_FOLLOWER, Offset(-1), leader_.epoch,
                           "this node does not lead the metadata quorum"};
  if (fail_next_ != ErrorCode::NONE) {
    ErrorCode e = fail_next_;
    fail_next_ = ErrorCode::NONE;
    co_return AppendResult{e, Offset(-1), leader_.epoch, "injected append failure"};
  }
  Offset base(static_cast<int64_t>(entries_.size()));
  int64_t now = clock_.now_ms();
  for (auto& v : values) entries_.push_back(Entry{v, leader_.epoch, now});
  ++appends_;
  if (listener_) listener_(base, leader_.epoch, values);
  co_return AppendResult{ErrorCode::NONE, Offset(static_cast<int64_t>(entries_.size()) - 1), leader_.epoch, {}};
}

storage::Status MemoryMetadataLog::replay(const std::function<void(Offset, std::span<const uint8_t>)>& fn) {
  auto failure = std::move(replay_failure_);
  replay_failure_.reset();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (failure && i == failure->second) return failure->first;
    fn(Offset(static_cast<int64_t>(i)), entries_[i].value);
  }
  if (failure && failure->second >= entries_.size()) return failure->first;
  return storage::Status::ok();
}

}  // namespace samsa::raft
