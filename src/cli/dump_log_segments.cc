#include "cli/dump_log_segments.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "protocol/batch_header.h"
#include "protocol/kraft/records.h"
#include "protocol/kraft_legacy.h"
#include "protocol/record_batch.h"

namespace samsa::cli {

namespace {

using protocol::BatchHeader;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Segment files are named after their base offset (20 digits).
std::optional<int64_t> base_offset_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

std::string sibling(const std::string& path, std::string_view from, std::string_view to) {
  return path.substr(0, path.size() - from.size()) + std::string(to);
}

class FileReader {
 public:
  explicit FileReader(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    struct stat st {};
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  bool ok() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }
  bool read(uint64_t pos, size_t n, std::vector<uint8_t>& out) const {
    out.resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(pos + done));
      if (r <= 0) return false;
      done += static_cast<size_t>(r);
    }
    return true;
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

const char* codec_name(int c) {
  switch (c) {
    case 0: return "none";
    case 1: return "gzip";
    case 2: return "snappy";
    case 3: return "lz4";
    case 4: return "zstd";
    default: return "unknown";
  }
}

int32_t add_sequence(int32_t base, int64_t delta) {
  if (base < 0) return -1;
  return static_cast<int32_t>((static_cast<int64_t>(base) + delta) % (int64_t{1} << 31));
}

void print_bytes(std::FILE* out, std::span<const uint8_t> b) { std::fwrite(b.data(), 1, b.size(), out); }

// Reads the batch at `pos` (header checked for plausibility). nullopt at a
// torn or implausible tail.
std::optional<BatchHeader> batch_at(const FileReader& f, uint64_t pos, std::vector<uint8_t>& buf) {
  if (f.size() - pos < protocol::batch::kHeaderSize) return std::nullopt;
  if (!f.read(pos, protocol::batch::kHeaderSize, buf)) return std::nullopt;
  BatchHeader h = BatchHeader::parse(buf.data());
  if (h.length < static_cast<int32_t>(protocol::batch::kHeaderSize - protocol::batch::kLogOverhead) ||
      h.total_size() > f.size() - pos)
    return std::nullopt;
  return h;
}

// Kafka prints what a control record means instead of its bytes: the
// transaction marker, the KRaft snapshot and voter records as JSON, any other
// type by name.
void print_control(const protocol::RecordView& r, std::FILE* out) {
  auto marker = protocol::parse_end_txn_marker(r.key, r.value);
  auto type = protocol::control_record_type(r.key);
  if (marker) {
    std::fprintf(out, " endTxnMarker: %s coordinatorEpoch: %d",
                 marker->type == protocol::ControlType::commit ? "COMMIT" : "ABORT", marker->coordinator_epoch);
    return;
  }
  if (type && r.value) {
    if (auto text = protocol::kraft::control_record_text(*type, *r.value)) {
      std::fprintf(out, " %s", text->c_str());
      return;
    }
  }
  std::fprintf(out, " controlType: %s(%d)", type ? protocol::kraft::control_type_name(*type) : "UNKNOWN",
               type ? static_cast<int>(*type) : -1);
}

// The payload of a __cluster_metadata record: {"type":...,"version":...,"data":{...}}.
std::string metadata_payload(const protocol::RecordView& r) {
  const std::string error = "Error at " + std::to_string(r.offset) + ", skipping. ";
  if (!r.value) return error + "The record has no value.";
  if (protocol::kraft::is_legacy_value(*r.value)) {
    if (auto json = protocol::kraft::legacy_value_json(*r.value)) return *json;
    return error + "Undecodable record in Samsa's old metadata format.";
  }
  auto d = protocol::kraft::decode_metadata_record(*r.value);
  if (d.error != protocol::kraft::RecordError::none) return error + d.message;
  return protocol::kraft::metadata_record_json(*d.record, d.version);
}

void print_records(std::span<const uint8_t> batch, const BatchHeader& h, const DumpOptions& opts, std::FILE* out) {
  protocol::RecordIterator it;
  if (auto e = it.open(batch); e != ErrorCode::NONE) {
    std::fprintf(out, "| cannot decode records: error %d\n", static_cast<int>(e));
    return;
  }
  protocol::RecordView r;
  const char* ts_type = h.is_log_append_time() ? "LogAppendTime" : "CreateTime";
  while (it.next(r)) {
    const int64_t ts = h.is_log_append_time() ? h.max_timestamp : r.timestamp;
    std::fprintf(out, "| offset: %" PRId64 " %s: %" PRId64 " keySize: %d valueSize: %d sequence: %d headerKeys: [", r.offset,
                 ts_type, ts, r.key ? static_cast<int>(r.key->size()) : -1,
                 r.value ? static_cast<int>(r.value->size()) : -1, add_sequence(h.base_sequence, r.offset - h.base_offset));
    auto headers = protocol::decode_headers(r);
    for (size_t i = 0; i < headers.size(); ++i)
      std::fprintf(out, "%s%.*s", i ? "," : "", static_cast<int>(headers[i].key.size()), headers[i].key.data());
    std::fprintf(out, "]");
    if (h.is_control()) {
      print_control(r, out);
    } else if (opts.print_data && opts.cluster_metadata) {
      // Metadata records have no key; an undecodable one is reported as Kafka does.
      std::string payload = metadata_payload(r);
      std::fprintf(out, " payload: %s", payload.c_str());
    } else if (opts.print_data) {
      if (r.key) {
        std::fprintf(out, " key: ");
        print_bytes(out, *r.key);
      }
      std::fprintf(out, " payload: ");
      if (r.value) print_bytes(out, *r.value);
    }
    std::fprintf(out, "\n");
  }
  if (it.error() != ErrorCode::NONE) std::fprintf(out, "| invalid records: error %d\n", static_cast<int>(it.error()));
}

bool dump_log(const std::string& path, const DumpOptions& opts, std::FILE* out) {
  FileReader f(path);
  if (!f.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  auto base = base_offset_of(path);
  if (ends_with(path, ".checkpoint")) {
    // A KRaft snapshot: <end offset, 20 digits>-<epoch, 10 digits>.checkpoint
    auto slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    int64_t end_offset = -1;
    int epoch = -1;
    std::sscanf(name.c_str(), "%" SCNd64 "-%d", &end_offset, &epoch);
    std::fprintf(out, "Snapshot end offset: %" PRId64 ", epoch: %d\n", end_offset, epoch);
  } else {
    std::fprintf(out, "Log starting offset: %" PRId64 "\n", base.value_or(0));
  }
  bool ok = true;
  uint64_t pos = 0;
  std::vector<uint8_t> buf;
  while (pos < f.size()) {
    auto h = batch_at(f, pos, buf);
    if (!h || !f.read(pos, h->total_size(), buf)) {
      std::fprintf(out, "Found %" PRIu64 " invalid bytes at the end of %s\n", f.size() - pos, path.c_str());
      ok = false;
      break;
    }
    const bool valid = protocol::validate_batch(buf, protocol::BatchOrigin::log) == ErrorCode::NONE;
    ok = ok && valid;
    std::fprintf(out,
                 "baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %d baseSequence: %d lastSequence: %d "
                 "producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s "
                 "isControl: %s deleteHorizonMs: ",
                 h->base_offset, h->last_offset(), h->record_count, h->base_sequence,
                 add_sequence(h->base_sequence, h->last_offset_delta), h->producer_id, h->producer_epoch,
                 h->leader_epoch, h->is_transactional() ? "true" : "false", h->is_control() ? "true" : "false");
    if (h->attributes & protocol::batch::kDeleteHorizonBit)
      std::fprintf(out, "OptionalLong[%" PRId64 "]", h->base_timestamp);
    else
      std::fprintf(out, "OptionalLong.empty");
    std::fprintf(out, " position: %" PRIu64 " %s: %" PRId64 " size: %zu magic: %d compresscodec: %s crc: %" PRIu32
                 " isvalid: %s\n",
                 pos, h->is_log_append_time() ? "LogAppendTime" : "CreateTime", h->max_timestamp, h->total_size(),
                 h->magic, codec_name(h->compression()), h->crc, valid ? "true" : "false");
    if ((opts.deep_iteration || opts.print_data) && valid) print_records(buf, *h, opts, out);
    pos += h->total_size();
  }
  return ok;
}

// Index entries: (relative offset, position) -> the batch at `position` in the
// .log must have that last offset (an entry maps a batch's last offset to its
// start). Unused (zero) preallocated slots after the first end the entries.
bool dump_offset_index(const std::string& path, std::FILE* out) {
  FileReader f(path);
  if (!f.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const int64_t base = base_offset_of(path).value_or(0);
  FileReader log(sibling(path, ".index", ".log"));
  std::vector<uint8_t> buf, hb;
  bool ok = true;
  int64_t prev = -1;
  for (uint64_t pos = 0; pos + 8 <= f.size(); pos += 8) {
    if (!f.read(pos, 8, buf)) return false;
    const int32_t rel = protocol::load_be32(buf.data());
    const int32_t position = protocol::load_be32(buf.data() + 4);
    if (rel == 0 && position == 0) {
      // A zero slot is unused preallocation, except a first entry naming a
      // one-offset first batch.
      if (pos > 0) break;
      auto first = log.ok() && log.size() > 0 ? batch_at(log, 0, hb) : std::nullopt;
      if (!first || first->last_offset() != base) break;
    }
    const int64_t offset = base + rel;
    std::fprintf(out, "offset: %" PRId64 " position: %d\n", offset, position);
    if (offset <= prev && pos > 0) {
      std::fprintf(out, "Index offset %" PRId64 " is not larger than the previous entry's %" PRId64 " in %s\n", offset,
                   prev, path.c_str());
      ok = false;
    }
    prev = offset;
    if (log.ok() && position >= 0) {
      auto h = static_cast<uint64_t>(position) < log.size() ? batch_at(log, static_cast<uint64_t>(position), hb)
                                                             : std::nullopt;
      if (!h || h->last_offset() != offset) {
        std::fprintf(out, "Mismatches in :%s\n  Index offset: %" PRId64 ", log offset: %" PRId64 "\n", path.c_str(),
                     offset, h ? h->last_offset() : -1);
        ok = false;
      }
    }
  }
  return ok;
}

bool dump_time_index(const std::string& path, std::FILE* out) {
  FileReader f(path);
  if (!f.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const int64_t base = base_offset_of(path).value_or(0);
  std::vector<uint8_t> buf;
  bool ok = true;
  int64_t prev_ts = -1;
  for (uint64_t pos = 0; pos + 12 <= f.size(); pos += 12) {
    if (!f.read(pos, 12, buf)) return false;
    const int64_t ts = protocol::load_be64(buf.data());
    const int32_t rel = protocol::load_be32(buf.data() + 8);
    if (ts == 0 && rel == 0) break;  // unused preallocated slot
    std::fprintf(out, "timestamp: %" PRId64 " offset: %" PRId64 "\n", ts, base + rel);
    if (ts < prev_ts) {
      std::fprintf(out, "Found timestamp mismatch in :%s\n  Index timestamp: %" PRId64 ", previous timestamp: %" PRId64
                   "\n", path.c_str(), ts, prev_ts);
      ok = false;
    }
    prev_ts = std::max(prev_ts, ts);
  }
  return ok;
}

void usage() {
  std::fprintf(stderr,
               "Usage: samsa dump-log-segments --files F[,F...] [--print-data-log] [--deep-iteration]\n"
               "                               [--cluster-metadata-decoder]\n"
               "  --files            comma-separated .log, .checkpoint, .index or .timeindex files\n"
               "  --print-data-log   print each record's key and payload (implies --deep-iteration)\n"
               "  --deep-iteration   print one line per record\n"
               "  --cluster-metadata-decoder  print __cluster_metadata records as JSON (implies --print-data-log)\n");
}

}  // namespace

bool dump_file(const std::string& path, const DumpOptions& opts, std::FILE* out) {
  std::fprintf(out, "Dumping %s\n", path.c_str());
  if (ends_with(path, ".log") || ends_with(path, ".checkpoint")) return dump_log(path, opts, out);
  if (ends_with(path, ".index")) return dump_offset_index(path, out);
  if (ends_with(path, ".timeindex")) return dump_time_index(path, out);
  std::fprintf(stderr, "Ignoring unknown file %s\n", path.c_str());
  return false;
}

int dump_log_segments_main(int argc, char** argv) {
  DumpOptions opts;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--print-data-log") {
      opts.print_data = true;
    } else if (a == "--cluster-metadata-decoder") {
      opts.cluster_metadata = true;
      opts.print_data = true;
    } else if (a == "--deep-iteration") {
      opts.deep_iteration = true;
    } else if (a == "--files" && i + 1 < argc) {
      std::string list = argv[++i];
      for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        if (comma > start) files.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "dump-log-segments: unknown option '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (files.empty()) {
    usage();
    return 2;
  }
  bool ok = true;
  for (auto& f : files) ok = dump_file(f, opts, stdout) && ok;
  return ok ? 0 : 1;
}

}  // namespace samsa::cli
