// Property tests of the Log (rapidcheck): random sequences of appends (plain,
// idempotent, transactional + commit/abort markers), rolls (small
// segment.bytes), retention with a moving clock, flushes, truncations, ENOSPC
// and crashes at random points (torn write at a random byte, a crash after a
// random number of mutating calls, power cuts dropping unsynced data), each
// crash followed by a reopen. A second property does the same with keyed
// records and compaction passes.
//
// After every recovery the log is compared with a model:
//   * every batch acknowledged as durable (appended before a completed flush)
//     is there, byte-identical, at its offset;
//   * what is readable is a prefix of what was appended (no invented or
//     invalid batch), offsets increasing (dense without compaction);
//   * the newest batch of each idempotent producer is answered as a duplicate
//     with its original offsets;
//   * the last stable offset and the aborted transactions match the model.
//
// The number of cases is bounded (kCases) so unit_tests stays fast; set
// RC_PARAMS (e.g. RC_PARAMS="max_success=2000") for a longer run. A failure
// prints the seed to reproduce it with RC_PARAMS="seed=...".
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdlib>
#include <map>
#include <set>

#include "protocol/record_batch.h"
#include "storage/fault_injection_env.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using protocol::BatchBuilder;
using protocol::BatchHeader;
using testing::TempDir;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int kCases = 40;
constexpr int64_t kTxnPid = 1000;

// Runs a property with a bounded number of cases unless RC_PARAMS says otherwise.
template <typename Fn>
void check_property(const char* name, Fn fn) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  if (std::getenv("RC_PARAMS") == nullptr) {
    params.maxSuccess = kCases;
    params.maxSize = 100;
  }
  rc::detail::TestMetadata meta;
  meta.id = name;
  meta.description = name;
  auto result = rc::detail::checkProperty(rc::detail::toProperty(fn), meta, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream ss;
    rc::detail::printResultMessage(result, ss);
    FAIL() << name << " failed; reproduce with RC_PARAMS=\"seed=" << params.seed << "\"\n" << ss.str();
  }
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One appended batch as the model knows it.
struct Entry {
  std::vector<uint8_t> original;  // as the client sent it (for retries)
  std::vector<uint8_t> stored;    // as the log patched it
  int64_t base = 0, last = 0;
  int64_t pid = -1;
  int32_t seq = -1;
  int32_t count = 0;
  bool txn = false;
  bool control = false;
  bool commit = false;
};

struct Model {
  std::vector<Entry> entries;  // in offset order; those below the log start are gone
  // A batch whose append failed under an injected fault: it may have reached
  // the page cache whole, so it may legitimately survive a process crash.
  std::optional<Entry> maybe;
  int64_t durable_end = 0;     // log end at the last completed flush
  int64_t log_start = 0;
  std::map<int64_t, int32_t> next_seq;  // idempotent producers 1..3 and the txn producer
  int64_t txn_pid = kTxnPid;
  int64_t now = kStart;

  int64_t log_end() const { return entries.empty() ? log_start : entries.back().last + 1; }
  std::vector<const Entry*> readable() const {
    std::vector<const Entry*> out;
    for (const auto& e : entries)
      if (e.last >= log_start) out.push_back(&e);
    return out;
  }
  // First offset of the oldest open transaction (of any transactional
  // producer id, also of one abandoned at a crash), -1 if none.
  int64_t open_txn_first() const {
    std::map<int64_t, int64_t> open;
    for (const auto& e : entries) {
      if (e.control) open.erase(e.pid);
      else if (e.txn && open.count(e.pid) == 0) open[e.pid] = e.base;
    }
    int64_t first = -1;
    for (const auto& [pid, offset] : open) first = first < 0 ? offset : std::min(first, offset);
    return first;
  }
  bool txn_open() const {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->pid != txn_pid) continue;
      return !it->control;
    }
    return false;
  }
  std::vector<AbortedTxn> aborted() const {
    std::vector<AbortedTxn> out;
    std::map<int64_t, int64_t> open;
    for (const auto& e : entries) {
      if (e.txn && !e.control && open.count(e.pid) == 0) open[e.pid] = e.base;
      if (e.control) {
        auto it = open.find(e.pid);
        if (it != open.end() && !e.commit) out.push_back(AbortedTxn{e.pid, it->second, e.base, -1});
        if (it != open.end()) open.erase(it);
      }
    }
    return out;
  }
};

LogConfig config_for(int segment_bytes, bool compact) {
  LogConfig c;
  c.segment_bytes = segment_bytes;
  c.index_interval_bytes = 128;
  c.segment_index_bytes = 4096;
  c.retention_ms = 200;
  c.file_delete_delay_ms = 0;
  c.cleanup_compact = compact;
  c.cleanup_delete = !compact;
  c.min_cleanable_dirty_ratio = 0.01;
  c.delete_retention_ms = kNoLimit;  // tombstones are not generated; keep the model simple
  return c;
}

std::unique_ptr<Log> reopen(Env* env, const std::string& dir, const LogConfig& cfg, const Model& m) {
  LogOpenOptions o;
  o.config = cfg;
  o.clean_shutdown = false;
  o.recovery_point = m.durable_end;  // as an up-to-date checkpoint would say
  o.log_start_offset = m.log_start;
  o.now_ms = m.now;
  auto log = Log::open(env, dir, TopicPartition{"t", 0}, o);
  RC_ASSERT(log.is_ok());
  return std::move(log).value();
}

std::vector<uint8_t> read_all(Log& log) {
  auto r = log.read(log.log_start_offset(), 1 << 30, INT64_MAX, true);
  RC_ASSERT(r.error == ErrorCode::NONE);
  return testing::read_chunks(r);
}

// Splits a concatenation of valid batches (asserted) into single batches.
std::vector<std::vector<uint8_t>> split_batches(const std::vector<uint8_t>& data) {
  std::vector<BatchHeader> hs;
  RC_ASSERT(testing::all_batches_valid(data, &hs));
  std::vector<std::vector<uint8_t>> out;
  size_t pos = 0;
  for (const auto& h : hs) {
    out.emplace_back(data.begin() + static_cast<ptrdiff_t>(pos), data.begin() + static_cast<ptrdiff_t>(pos + h.total_size()));
    pos += h.total_size();
  }
  return out;
}

// Compares a recovered (or running) log with the model, then shrinks the model
// to what survived. Returns with the model in step with the log.
void verify_and_adopt(Log& log, Model& m) {
  RC_ASSERT(log.log_start_offset() >= m.log_start);
  m.log_start = log.log_start_offset();
  auto batches = split_batches(read_all(log));
  auto expected = m.readable();
  if (m.maybe && m.maybe->base == m.log_end()) expected.push_back(&*m.maybe);
  RC_ASSERT(batches.size() <= expected.size());  // nothing invented
  int64_t next = m.log_start;
  for (size_t i = 0; i < batches.size(); ++i) {
    auto h = BatchHeader::parse(batches[i].data());
    RC_ASSERT(h.base_offset == next);  // dense, increasing
    RC_ASSERT(batches[i] == expected[i]->stored);  // byte-identical at its offset
    next = h.last_offset() + 1;
  }
  // Every durable batch survived.
  for (size_t i = batches.size(); i < expected.size(); ++i) RC_ASSERT(expected[i]->last >= m.durable_end);
  RC_ASSERT(log.log_end_offset() == next);
  // Adopt the survivors.
  const int64_t end = next;
  if (m.maybe && batches.size() == expected.size() && expected.back() == &*m.maybe) m.entries.push_back(*m.maybe);
  m.maybe.reset();
  std::erase_if(m.entries, [&](const Entry& e) { return e.base >= end; });
  m.durable_end = std::min(m.durable_end, end);
  RC_ASSERT(log.recovery_point() >= std::min(m.durable_end, end));

  // Transactions.
  const int64_t open = m.open_txn_first();
  RC_ASSERT(log.last_stable_offset(end) >= log.log_start_offset());
  if (open < 0 || open >= m.log_start) {
    // (An open transaction whose start retention deleted is remembered only
    // as long as a producer snapshot covers it; not compared.)
    RC_ASSERT(log.last_stable_offset(end) == (open >= 0 ? std::min(open, end) : end));
  }
  auto want = m.aborted();
  std::erase_if(want, [&](const AbortedTxn& a) { return a.last_offset < m.log_start; });
  auto got = log.aborted_transactions(m.log_start, end);
  RC_ASSERT(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    RC_ASSERT(got[i].producer_id == want[i].producer_id);
    // A transaction whose start retention deleted may be remembered from its
    // first surviving batch on: the same for every read above the log start.
    if (want[i].first_offset >= m.log_start) {
      RC_ASSERT(got[i].first_offset == want[i].first_offset);
    } else {
      RC_ASSERT(got[i].first_offset <= want[i].last_offset);
    }
    RC_ASSERT(got[i].last_offset == want[i].last_offset);
  }
}

// After a crash: the sequences continue from the surviving batches; a producer
// none of whose batches is readable any more starts afresh under a new id.
void resync_producers(Log& log, Model& m) {
  std::map<int64_t, const Entry*> newest;
  for (const auto& e : m.entries)
    if (!e.control && e.pid >= 0) newest[e.pid] = &e;
  std::map<int64_t, int32_t> next;
  for (auto& [pid, seq] : m.next_seq) {
    auto it = newest.find(pid);
    if (it != newest.end() && it->second->last >= m.log_start) {
      next[pid] = it->second->seq + it->second->count;
      if (!it->second->txn) {
        // A retry of the newest batch is recognised, with its original offsets.
        auto retry = it->second->original;
        auto r = log.append(retry, 0, m.now, false);
        RC_ASSERT(r.error == ErrorCode::NONE);
        RC_ASSERT(r.duplicate);
        RC_ASSERT(r.first_offset == it->second->base);
        RC_ASSERT(r.last_offset == it->second->last);
      }
    } else {
      // (An open transaction of an abandoned transactional id stays open.)
      int64_t fresh = pid + 10'000;
      while (m.next_seq.count(fresh) || next.count(fresh)) fresh += 10'000;
      if (pid == m.txn_pid) m.txn_pid = fresh;
      next[fresh] = 0;
    }
  }
  m.next_seq = std::move(next);
}

std::vector<uint8_t> make_producer_batch(int64_t pid, int32_t seq, int records, bool txn, int64_t ts) {
  BatchBuilder b;
  b.set_producer(pid, 0, seq).set_transactional(txn);
  for (int i = 0; i < records; ++i) {
    std::string v = "p" + std::to_string(pid) + "s" + std::to_string(seq + i);
    b.add(ts, std::nullopt, bytes_of(v));
  }
  return b.build();
}

// Appends and records the batch in the model; false if the append failed
// (an armed fault), in which case the model is unchanged.
bool append_entry(Log& log, Model& m, Entry e) {
  auto copy = e.original;
  const int64_t before = log.log_end_offset();
  auto r = log.append(copy, 0, m.now, false);
  if (r.error != ErrorCode::NONE) {
    if (r.error == ErrorCode::KAFKA_STORAGE_ERROR) {
      e.stored = std::move(copy);  // patched in place before the write
      e.base = before;
      e.last = before + BatchHeader::parse(e.stored.data()).last_offset_delta;
      m.maybe = std::move(e);
    }
    return false;
  }
  RC_ASSERT(!r.duplicate);
  RC_ASSERT(r.first_offset == before);
  e.stored = std::move(copy);
  e.base = r.first_offset;
  e.last = r.last_offset;
  m.entries.push_back(std::move(e));
  return true;
}

enum class Crash { kNone, kProcess, kPowerCut };

// Destroys the log as a crash would and reopens it.
std::unique_ptr<Log> crash_and_recover(std::unique_ptr<Log> log, FaultInjectionEnv& env, const std::string& dir,
                                       const LogConfig& cfg, Model& m, Crash how) {
  RC_LOG() << (how == Crash::kPowerCut ? "power cut\n" : "process crash\n");
  log.reset();
  if (how == Crash::kPowerCut) {
    RC_ASSERT(env.power_cut().is_ok());
  } else {
    env.restart();
  }
  auto fresh = reopen(&env, dir, cfg, m);
  verify_and_adopt(*fresh, m);
  resync_producers(*fresh, m);
  return fresh;
}

void log_property() {
  TempDir tmp;
  FaultInjectionEnv env(posix_env());
  env.set_skip_real_sync(true);
  const std::string dir = tmp.sub("t-0");
  const LogConfig cfg = config_for(*rc::gen::element(400, 1000, 4000), false);
  Model m;
  m.next_seq = {{1, 0}, {2, 0}, {3, 0}, {kTxnPid, 0}};
  auto log = reopen(&env, dir, cfg, m);
  const int steps = *rc::gen::inRange(5, 60);
  for (int step = 0; step < steps; ++step) {
    m.now += *rc::gen::inRange(0, 40);
    // A fault armed before this step's operation: the operation may fail, then we crash.
    const int fault = *rc::gen::inRange(0, 20);
    if (fault == 0) env.tear_next_write(*rc::gen::inRange<uint64_t>(0, 200));
    if (fault == 1) env.crash_after(*rc::gen::inRange(0, 4));
    const bool armed = fault <= 1;
    const int op = *rc::gen::inRange(0, 100);
    RC_LOG() << "step " << step << " fault " << fault << " op " << op << " leo " << log->log_end_offset()
             << " durable " << m.durable_end << " start " << m.log_start << "\n";
    bool failed = false;
    if (op < 50) {  // append
      Entry e;
      const int kind = *rc::gen::inRange(0, 4);
      const int records = *rc::gen::inRange(1, 6);
      if (kind == 0) {
        e.original = testing::make_batch(records, m.now, static_cast<size_t>(*rc::gen::inRange(1, 60)));
      } else if (kind <= 2) {
        e.pid = *rc::gen::element<int64_t>(1, 2, 3);
        auto it = m.next_seq.find(e.pid);
        if (it == m.next_seq.end()) {  // restarted under a new id
          for (auto& [pid, seq] : m.next_seq)
            if (pid % 10'000 == e.pid) e.pid = pid;
        }
        e.seq = m.next_seq[e.pid];
        e.count = records;
        e.original = make_producer_batch(e.pid, e.seq, records, false, m.now);
      } else {
        e.pid = m.txn_pid;
        e.seq = m.next_seq[e.pid];
        e.count = records;
        e.txn = true;
        e.original = make_producer_batch(e.pid, e.seq, records, true, m.now);
      }
      const int64_t pid = e.pid;
      RC_LOG() << "  append pid " << pid << " seq " << e.seq << " txn " << e.txn << " records " << records << "\n";
      if (append_entry(*log, m, std::move(e))) {
        if (pid >= 0) m.next_seq[pid] += records;
      } else {
        failed = true;
      }
    } else if (op < 60) {  // commit or abort the open transaction
      if (m.txn_open()) {
        Entry e;
        e.pid = m.txn_pid;
        e.control = true;
        e.commit = *rc::gen::arbitrary<bool>();
        RC_LOG() << "  marker pid " << e.pid << " commit " << e.commit << "\n";
        e.original = protocol::build_end_txn_marker(
            {e.commit ? protocol::ControlType::commit : protocol::ControlType::abort, 0}, e.pid, 0, m.now);
        failed = !append_entry(*log, m, std::move(e));
      }
    } else if (op < 75) {  // flush: what is below the log end becomes durable
      const int64_t end = log->log_end_offset();
      if (log->flush(m.now)) {
        m.durable_end = end;
      } else {
        failed = true;
      }
    } else if (op < 85) {  // retention with the moving clock
      auto r = log->delete_old_segments(m.now, log->log_end_offset());
      if (!r) failed = true;
      else m.log_start = log->log_start_offset();
    } else if (op < 90) {  // ENOSPC on the next write: refused, nothing changes, the log stays usable
      if (!armed) {
        env.fail_next(FaultInjectionEnv::kOpWrite, ENOSPC);
        const int64_t end = log->log_end_offset();
        auto b = testing::make_batch(2, m.now);
        auto r = log->append(b, 0, m.now, false);
        RC_ASSERT(r.error == ErrorCode::KAFKA_STORAGE_ERROR);
        RC_ASSERT(log->log_end_offset() == end);
        RC_ASSERT(!log->failed());
        verify_and_adopt(*log, m);
      }
    } else if (op < 95) {  // truncation to a batch boundary (made durable by a flush, as a follower does)
      auto readable = m.readable();
      if (!armed && !readable.empty()) {
        const size_t i = static_cast<size_t>(*rc::gen::inRange<size_t>(0, readable.size()));
        const int64_t to = readable[i]->base;
        RC_ASSERT(log->truncate_to(to).is_ok());
        std::erase_if(m.entries, [&](const Entry& e) { return e.base >= to; });
        m.durable_end = std::min(m.durable_end, to);
        RC_ASSERT(log->flush(m.now).is_ok());
        m.durable_end = log->log_end_offset();
        verify_and_adopt(*log, m);
        resync_producers(*log, m);
      }
    } else {  // a power cut out of the blue
      log = crash_and_recover(std::move(log), env, dir, cfg, m, Crash::kPowerCut);
      continue;
    }
    if (failed) {
      RC_ASSERT(armed);  // only injected faults make operations fail
      log = crash_and_recover(std::move(log), env, dir, cfg, m,
                              *rc::gen::arbitrary<bool>() ? Crash::kPowerCut : Crash::kProcess);
    } else if (armed) {
      // The fault did not fire in this step: disarm it by a process restart.
      log = crash_and_recover(std::move(log), env, dir, cfg, m, Crash::kProcess);
    }
  }
  verify_and_adopt(*log, m);
  log = crash_and_recover(std::move(log), env, dir, cfg, m, Crash::kPowerCut);
}

TEST(StorageProperty, LogSurvivesRandomOperationsAndCrashes) { check_property("log", log_property); }

// ---- compaction ---------------------------------------------------------------------------

struct KeyedRecord {
  std::string key;
  std::string value;
};

// Readable records: offset -> (key, value), with the batch framing checked.
std::map<int64_t, KeyedRecord> read_records(Log& log) {
  std::map<int64_t, KeyedRecord> out;
  auto data = read_all(log);
  for (const auto& batch : split_batches(data)) {
    protocol::RecordIterator it;
    RC_ASSERT(it.open(batch) == ErrorCode::NONE);
    protocol::RecordView rv;
    while (it.next(rv)) {
      const bool whole = rv.key.has_value() && rv.value.has_value();
      RC_ASSERT(whole);
      const bool increasing = out.empty() || rv.offset > out.rbegin()->first;
      RC_ASSERT(increasing);
      out[rv.offset] = KeyedRecord{std::string(rv.key->begin(), rv.key->end()),
                                   std::string(rv.value->begin(), rv.value->end())};
    }
    RC_ASSERT(it.error() == ErrorCode::NONE);
  }
  return out;
}

// Every readable record is one that was written at that offset; for every key
// the newest record below the log end is readable; nothing durable is lost.
void verify_compacted(Log& log, std::map<int64_t, KeyedRecord>& written, int64_t durable_end) {
  const int64_t end = log.log_end_offset();
  RC_ASSERT(end >= durable_end);
  std::erase_if(written, [&](const auto& kv) { return kv.first >= end; });
  auto got = read_records(log);
  for (const auto& [offset, rec] : got) {
    auto it = written.find(offset);
    RC_ASSERT(it != written.end());
    RC_ASSERT(it->second.key == rec.key);
    RC_ASSERT(it->second.value == rec.value);
  }
  std::map<std::string, int64_t> newest;
  for (const auto& [offset, rec] : written) newest[rec.key] = offset;
  for (const auto& [key, offset] : newest) RC_ASSERT(got.count(offset) == 1);
}

void compaction_property() {
  TempDir tmp;
  FaultInjectionEnv env(posix_env());
  env.set_skip_real_sync(true);
  const std::string dir = tmp.sub("t-0");
  const LogConfig cfg = config_for(*rc::gen::element(300, 700, 2000), true);
  Model m;  // only durable_end, now and log_start are used here
  std::map<int64_t, KeyedRecord> written;
  int64_t checkpoint = -1;
  auto log = reopen(&env, dir, cfg, m);
  const int steps = *rc::gen::inRange(5, 80);
  for (int step = 0; step < steps; ++step) {
    m.now += *rc::gen::inRange(0, 20);
    const int op = *rc::gen::inRange(0, 100);
    if (op < 60) {
      BatchBuilder b;
      const int records = *rc::gen::inRange(1, 4);
      std::vector<KeyedRecord> recs;
      for (int i = 0; i < records; ++i) {
        recs.push_back({"k" + std::to_string(*rc::gen::inRange(0, 6)), "v" + std::to_string(step) + "." + std::to_string(i)});
        b.add(m.now, bytes_of(recs.back().key), bytes_of(recs.back().value));
      }
      auto batch = b.build();
      auto r = log->append(batch, 0, m.now, false);
      RC_ASSERT(r.error == ErrorCode::NONE);
      for (int i = 0; i < records; ++i) written[r.first_offset + i] = recs[static_cast<size_t>(i)];
    } else if (op < 75) {
      auto task = plan_cleaning(*log, checkpoint, log->log_end_offset(), m.now, CleanerOptions{}, true);
      if (task) {
        auto result = run_cleaning(*task);
        RC_ASSERT(result.is_ok());
        auto swapped = apply_cleaning(*log, *result, task->generation, m.now);
        RC_ASSERT(swapped.is_ok());
        checkpoint = result->cleaned_up_to;
      }
    } else if (op < 90) {
      const int64_t end = log->log_end_offset();
      RC_ASSERT(log->flush(m.now).is_ok());
      m.durable_end = end;
    } else {
      // A crash: torn next write, or a power cut.
      if (*rc::gen::arbitrary<bool>()) {
        env.tear_next_write(*rc::gen::inRange<uint64_t>(0, 100));
        BatchBuilder kb;
        kb.add(m.now, bytes_of(std::string("k0")), bytes_of(std::string("torn")));
        auto torn = kb.build();
        const int64_t at = log->log_end_offset();
        RC_ASSERT(log->append(torn, 0, m.now, false).error != ErrorCode::NONE);
        written[at] = KeyedRecord{"k0", "torn"};  // may survive whole (page cache); dropped below if not
        log.reset();
        env.restart();
      } else {
        log.reset();
        RC_ASSERT(env.power_cut().is_ok());
      }
      log = reopen(&env, dir, cfg, m);
      m.durable_end = std::min(m.durable_end, log->log_end_offset());
    }
    verify_compacted(*log, written, m.durable_end);
  }
}

TEST(StorageProperty, CompactedLogKeepsTheNewestValuePerKeyThroughCrashes) {
  check_property("compaction", compaction_property);
}

}  // namespace
}  // namespace samsa::storage
