#include "protocol/compression.h"

#include <isa-l/igzip_lib.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>

#include "protocol/batch_header.h"

namespace samsa::protocol {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// ---- bounded output ---------------------------------------------------------------------
//
// Streaming decoders write into `out`, which grows geometrically but never past
// `cap`. Once it is full, the decoder is handed a one-byte probe: if it writes
// into it, the output is larger than allowed. This detects an exact fit without
// ever allocating beyond the bound.
class BoundedSink {
 public:
  BoundedSink(Bytes& out, size_t cap, size_t hint) : out_(out), cap_(cap) {
    out_.clear();
    out_.resize(std::min(cap_, std::max<size_t>(hint, 256)));
  }
  // Space for the decoder's next call; sets probing() when only the probe is left.
  std::span<uint8_t> space() {
    if (used_ == out_.size() && out_.size() < cap_) {
      size_t grown = out_.size() > cap_ / 2 ? cap_ : std::max<size_t>(out_.size() * 2, 256);
      out_.resize(std::min(grown, cap_));
    }
    probing_ = used_ == out_.size();
    if (probing_) return {&probe_, 1};
    return {out_.data() + used_, out_.size() - used_};
  }
  // Records that the decoder wrote `n` bytes into the last space(); false if
  // that overflowed the bound.
  bool commit(size_t n) {
    if (probing_) return n == 0;
    used_ += n;
    return true;
  }
  void finish() { out_.resize(used_); }

 private:
  Bytes& out_;
  size_t cap_;
  size_t used_ = 0;
  bool probing_ = false;
  uint8_t probe_ = 0;
};

size_t initial_hint(size_t in_size) { return in_size > SIZE_MAX / 4 ? in_size : in_size * 4; }

// ---- gzip -------------------------------------------------------------------------------

bool gzip_compress_zlib(std::span<const uint8_t> in, Bytes& out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int ret = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return ret == Z_STREAM_END;
}

// ISA-L level 1: several times faster than zlib at a similar ratio.
bool gzip_compress_isal(std::span<const uint8_t> in, Bytes& out) {
  thread_local std::unique_ptr<uint8_t[]> level_buf(new uint8_t[ISAL_DEF_LVL1_DEFAULT]);
  // Zeroed first: isal_deflate_init does not set every field, and stack
  // garbage left in them crashed igzip on reuse of the level buffer.
  isal_zstream s{};
  isal_deflate_init(&s);
  s.level = 1;
  s.level_buf = level_buf.get();
  s.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
  s.gzip_flag = IGZIP_GZIP;
  s.flush = NO_FLUSH;
  out.resize(in.size() + in.size() / 8 + 1024);
  size_t consumed = 0;
  size_t used = 0;
  constexpr size_t kMaxFeed = size_t{1} << 30;  // avail_in is 32-bit
  while (s.internal_state.state != ZSTATE_END) {
    if (s.avail_in == 0 && consumed < in.size()) {
      size_t feed = std::min(kMaxFeed, in.size() - consumed);
      s.next_in = const_cast<uint8_t*>(in.data() + consumed);
      s.avail_in = static_cast<uint32_t>(feed);
      consumed += feed;
    }
    s.end_of_stream = consumed == in.size() ? 1 : 0;
    if (used == out.size()) out.resize(out.size() * 2);
    size_t room = std::min(out.size() - used, kMaxFeed);
    s.next_out = out.data() + used;
    s.avail_out = static_cast<uint32_t>(room);
    if (isal_deflate(&s) != COMP_OK) return false;
    used += room - s.avail_out;
  }
  out.resize(used);
  return true;
}

bool gzip_decompress(std::span<const uint8_t> in, size_t max_output, Bytes& out) {
  if (in.size() > UINT_MAX) return false;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return false;
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  BoundedSink sink(out, max_output, initial_hint(in.size()));
  for (;;) {
    auto dst = sink.space();
    zs.next_out = dst.data();
    zs.avail_out = static_cast<uInt>(std::min<size_t>(dst.size(), UINT_MAX));
    uInt before = zs.avail_out;
    int ret = inflate(&zs, Z_NO_FLUSH);
    if (!sink.commit(before - zs.avail_out)) return false;
    if (ret == Z_STREAM_END) {
      // Java's GZIPInputStream reads concatenated members; so do we.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        if (inflateReset(&zs) != Z_OK) return false;
        continue;
      }
      break;
    }
    if (ret == Z_BUF_ERROR) {
      if (zs.avail_out != 0) return false;  // wants input that is not there: truncated
      continue;
    }
    if (ret != Z_OK) return false;
  }
  sink.finish();
  return true;
}

// ---- snappy -----------------------------------------------------------------------------

Bytes snappy_compress_xerial(std::span<const uint8_t> in) {
  Bytes out;
  size_t chunks = (in.size() + kXerialBlockSize - 1) / kXerialBlockSize;
  out.resize(kXerialHeaderSize + chunks * (4 + snappy::MaxCompressedLength(kXerialBlockSize)));
  std::memcpy(out.data(), kXerialMagic, sizeof kXerialMagic);
  store_be32(out.data() + 8, 1);   // version
  store_be32(out.data() + 12, 1);  // compatible version
  size_t pos = kXerialHeaderSize;
  for (size_t off = 0; off < in.size(); off += kXerialBlockSize) {
    size_t n = std::min(kXerialBlockSize, in.size() - off);
    size_t clen = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + off), n,
                        reinterpret_cast<char*>(out.data() + pos + 4), &clen);
    store_be32(out.data() + pos, static_cast<int32_t>(clen));
    pos += 4 + clen;
  }
  out.resize(pos);
  return out;
}

// A snappy block expands at most ~21x (a 3-byte copy tag emits 64 bytes), so
// a declared length beyond this is a lie and is refused before allocating.
constexpr size_t kSnappyMaxRatio = 22;

// Appends one raw snappy block to out[used..]; the declared length is checked
// against the room left and the plausible expansion before anything is allocated.
bool snappy_raw_append(std::span<const uint8_t> block, size_t max_output, Bytes& out, size_t& used) {
  size_t len = 0;
  auto src = reinterpret_cast<const char*>(block.data());
  if (!snappy::GetUncompressedLength(src, block.size(), &len)) return false;
  if (len > max_output - used) return false;
  if (len > block.size() * kSnappyMaxRatio + 64) return false;
  out.resize(used + len);
  // RawUncompress checks every tag against both buffers: corrupt input fails.
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + used))) return false;
  used += len;
  return true;
}

bool snappy_decompress_xerial(std::span<const uint8_t> in, size_t max_output, Bytes& out) {
  out.clear();
  size_t used = 0;
  size_t pos = kXerialHeaderSize;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return false;
    int32_t len = load_be32(in.data() + pos);
    pos += 4;
    if (len < 0 || static_cast<size_t>(len) > in.size() - pos) return false;
    if (!snappy_raw_append(in.subspan(pos, static_cast<size_t>(len)), max_output, out, used)) return false;
    pos += static_cast<size_t>(len);
  }
  out.resize(used);
  return true;
}

bool snappy_decompress(std::span<const uint8_t> in, size_t max_output, Bytes& out) {
  if (in.size() >= kXerialHeaderSize && std::memcmp(in.data(), kXerialMagic, sizeof kXerialMagic) == 0) {
    if (snappy_decompress_xerial(in, max_output, out)) return true;
    // Fall through: a raw block could in theory start with the same bytes.
  }
  out.clear();
  size_t used = 0;
  return snappy_raw_append(in, max_output, out, used);
}

// ---- lz4 --------------------------------------------------------------------------------

Bytes lz4_compress(std::span<const uint8_t> in) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;  // Kafka's reader decodes blocks one by one
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.compressionLevel = 0;
  Bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return {};
  out.resize(n);
  return out;
}

struct Lz4DctxDeleter {
  void operator()(LZ4F_dctx* d) const { LZ4F_freeDecompressionContext(d); }
};

LZ4F_dctx* lz4_dctx() {
  thread_local std::unique_ptr<LZ4F_dctx, Lz4DctxDeleter> ctx([] {
    LZ4F_dctx* d = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) return static_cast<LZ4F_dctx*>(nullptr);
    return d;
  }());
  return ctx.get();
}

bool lz4_decompress(std::span<const uint8_t> in, size_t max_output, Bytes& out) {
  LZ4F_dctx* d = lz4_dctx();
  if (!d) return false;
  LZ4F_resetDecompressionContext(d);
  BoundedSink sink(out, max_output, initial_hint(in.size()));
  size_t pos = 0;
  size_t hint = 1;
  // A frame ends when LZ4F_decompress returns 0; the input must end there too
  // (further frames are accepted, trailing garbage is not).
  while (pos < in.size() || hint != 0) {
    auto dst = sink.space();
    size_t dst_size = dst.size();
    size_t src_size = in.size() - pos;
    hint = LZ4F_decompress(d, dst.data(), &dst_size, in.data() + pos, &src_size, nullptr);
    if (LZ4F_isError(hint)) { LZ4F_resetDecompressionContext(d); return false; }
    if (!sink.commit(dst_size)) { LZ4F_resetDecompressionContext(d); return false; }
    pos += src_size;
    if (hint != 0 && src_size == 0 && dst_size == 0) {
      LZ4F_resetDecompressionContext(d);  // no progress: truncated input
      return false;
    }
  }
  sink.finish();
  return true;
}

// ---- zstd -------------------------------------------------------------------------------

constexpr int kZstdLevel = 3;  // the library's and Kafka's default

Bytes zstd_compress(std::span<const uint8_t> in) {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), in.data(), in.size(), kZstdLevel);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

// Window sizes are declared by the (untrusted) frame and allocated by the
// decoder up front, so they are capped: never above what the output bound
// could need, but at least 8 MiB so ordinary streaming producers (level 3 uses
// <= 2 MiB windows) always decode.
constexpr int kZstdWindowLogLimit = 27;  // zstd's own default decoder limit

int zstd_window_log_max(size_t max_output) {
  int log = 10;
  while (log < kZstdWindowLogLimit && (size_t{1} << log) < max_output) ++log;
  return std::clamp(log, 23, kZstdWindowLogLimit);
}

bool zstd_decompress(std::span<const uint8_t> in, size_t max_output, Bytes& out) {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  ZSTD_DCtx* d = dctx.get();
  if (!d || in.empty()) return false;
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, zstd_window_log_max(max_output));
  BoundedSink sink(out, max_output, initial_hint(in.size()));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t last = 1;
  while (ib.pos < ib.size || last != 0) {
    auto dst = sink.space();
    ZSTD_outBuffer ob{dst.data(), dst.size(), 0};
    size_t in_before = ib.pos;
    last = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(last)) return false;
    if (!sink.commit(ob.pos)) return false;
    // No progress with room to write and no input left: the frame is truncated.
    if (last != 0 && ob.pos < ob.size && ib.pos == ib.size) return false;
    if (ob.pos == 0 && ib.pos == in_before && last != 0 && ob.size > 0 && ib.pos < ib.size) return false;
  }
  sink.finish();
  return true;
}

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<Compression> parse_compression(std::string_view name) {
  for (auto c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    if (iequals(name, compression_name(c))) return c;
  }
  return std::nullopt;
}

std::optional<Compression> compression_from_id(int id) {
  if (id < 0 || id > static_cast<int>(Compression::zstd)) return std::nullopt;
  return static_cast<Compression>(id);
}

std::optional<CompressionType> parse_compression_type(std::string_view name) {
  if (iequals(name, "producer")) return CompressionType{true, Compression::none};
  if (iequals(name, "uncompressed")) return CompressionType{false, Compression::none};
  auto c = parse_compression(name);
  if (!c || *c == Compression::none) return std::nullopt;
  return CompressionType{false, *c};
}

std::string_view compression_type_name(CompressionType t) {
  if (t.producer) return "producer";
  if (t.codec == Compression::none) return "uncompressed";
  return compression_name(t.codec);
}

Bytes compress(Compression c, std::span<const uint8_t> in) {
  switch (c) {
    case Compression::none: return Bytes(in.begin(), in.end());
    case Compression::gzip: {
      Bytes out;
      if (gzip_compress_isal(in, out)) return out;
      if (gzip_compress_zlib(in, out)) return out;
      return {};
    }
    case Compression::snappy: return snappy_compress_xerial(in);
    case Compression::lz4: return lz4_compress(in);
    case Compression::zstd: return zstd_compress(in);
  }
  return {};
}

bool decompress(Compression c, std::span<const uint8_t> in, size_t max_output, Bytes& out) {
  switch (c) {
    case Compression::none:
      if (in.size() > max_output) return false;
      out.assign(in.begin(), in.end());
      return true;
    case Compression::gzip: return gzip_decompress(in, max_output, out);
    case Compression::snappy: return snappy_decompress(in, max_output, out);
    case Compression::lz4: return lz4_decompress(in, max_output, out);
    case Compression::zstd: return zstd_decompress(in, max_output, out);
  }
  return false;
}

}  // namespace samsa::protocol
