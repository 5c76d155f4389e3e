#include "protocol/compression.h"

#include <gtest/gtest.h>
#include <snappy.h>
#include <zstd.h>

#include <random>

#include "protocol/batch_header.h"

namespace samsa::protocol {
namespace {

constexpr Compression kCompressionCodecs[] = {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                                   Compression::zstd};

// Text-like bytes: compressible but not trivially.
Bytes sample(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>('a' + rng() % 12);
  return b;
}

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TEST(Compression, NamesRoundTrip) {
  for (auto c : kCompressionCodecs) EXPECT_EQ(parse_compression(compression_name(c)), c);
  EXPECT_EQ(parse_compression("GZIP"), Compression::gzip);
  EXPECT_FALSE(parse_compression("brotli"));
  EXPECT_FALSE(parse_compression("producer"));
  EXPECT_EQ(compression_from_id(4), Compression::zstd);
  EXPECT_FALSE(compression_from_id(5));
}

TEST(Compression, TopicCompressionType) {
  EXPECT_EQ(parse_compression_type("producer"), (CompressionType{true, Compression::none}));
  EXPECT_EQ(parse_compression_type("uncompressed"), (CompressionType{false, Compression::none}));
  EXPECT_EQ(parse_compression_type("lz4"), (CompressionType{false, Compression::lz4}));
  EXPECT_FALSE(parse_compression_type("none"));
  EXPECT_FALSE(parse_compression_type(""));
  for (auto name : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}) {
    auto t = parse_compression_type(name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(compression_type_name(*t), name);
  }
}

TEST(Compression, RoundTripEveryCodecAndSize) {
  for (auto c : kCompressionCodecs) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{32768}, size_t{32769}, size_t{200000},
                     size_t{3} << 20}) {
      Bytes in = sample(n, static_cast<uint32_t>(n));
      Bytes z = compress(c, in);
      if (c != Compression::none) {
        EXPECT_FALSE(z.empty()) << compression_name(c) << " " << n;
      }
      Bytes out;
      ASSERT_TRUE(decompress(c, z, n, out)) << compression_name(c) << " " << n;
      EXPECT_EQ(out, in) << compression_name(c) << " " << n;
    }
  }
}

TEST(Compression, RoundTripIncompressible) {
  Bytes in = random_bytes(300000, 7);
  for (auto c : kCompressionCodecs) {
    Bytes out;
    ASSERT_TRUE(decompress(c, compress(c, in), in.size(), out)) << compression_name(c);
    EXPECT_EQ(out, in);
  }
}

TEST(Compression, GzipIsAGzipStreamAndMembersConcatenate) {
  Bytes a = sample(1000, 1), b = sample(5000, 2);
  Bytes za = compress(Compression::gzip, a), zb = compress(Compression::gzip, b);
  ASSERT_GE(za.size(), 2u);
  EXPECT_EQ(za[0], 0x1f);
  EXPECT_EQ(za[1], 0x8b);
  Bytes both = za;
  both.insert(both.end(), zb.begin(), zb.end());
  Bytes out;
  ASSERT_TRUE(decompress(Compression::gzip, both, 1 << 20, out));
  Bytes expect = a;
  expect.insert(expect.end(), b.begin(), b.end());
  EXPECT_EQ(out, expect);
}

TEST(Compression, SnappyCompressWritesXerialFraming) {
  Bytes in = sample(100000);
  Bytes z = compress(Compression::snappy, in);
  ASSERT_GE(z.size(), kXerialHeaderSize);
  EXPECT_EQ(0, std::memcmp(z.data(), kXerialMagic, 8));
  EXPECT_EQ(load_be32(z.data() + 8), 1);
  EXPECT_EQ(load_be32(z.data() + 12), 1);
  // Chunks of at most 32 KiB of input each: 100000 bytes -> 4 chunks.
  size_t pos = kXerialHeaderSize, chunks = 0;
  while (pos < z.size()) {
    int32_t len = load_be32(z.data() + pos);
    ASSERT_GT(len, 0);
    size_t ulen = 0;
    ASSERT_TRUE(snappy::GetUncompressedLength(reinterpret_cast<const char*>(z.data() + pos + 4), len, &ulen));
    EXPECT_LE(ulen, kXerialBlockSize);
    pos += 4 + static_cast<size_t>(len);
    ++chunks;
  }
  EXPECT_EQ(pos, z.size());
  EXPECT_EQ(chunks, 4u);
}

// A xerial stream assembled by hand from raw blocks, as snappy-java writes it.
TEST(Compression, SnappyReadsHandBuiltXerialStream) {
  Bytes p1 = sample(5000, 3), p2 = sample(7000, 4);
  Bytes z(kXerialMagic, kXerialMagic + 8);
  for (int v : {1, 1}) { uint8_t b[4]; store_be32(b, v); z.insert(z.end(), b, b + 4); }
  for (const Bytes* p : {&p1, &p2}) {
    std::string block;
    snappy::Compress(reinterpret_cast<const char*>(p->data()), p->size(), &block);
    uint8_t len[4];
    store_be32(len, static_cast<int32_t>(block.size()));
    z.insert(z.end(), len, len + 4);
    z.insert(z.end(), block.begin(), block.end());
  }
  Bytes out;
  ASSERT_TRUE(decompress(Compression::snappy, z, 1 << 20, out));
  Bytes expect = p1;
  expect.insert(expect.end(), p2.begin(), p2.end());
  EXPECT_EQ(out, expect);
  // Header alone is an empty stream.
  Bytes header(z.begin(), z.begin() + kXerialHeaderSize);
  ASSERT_TRUE(decompress(Compression::snappy, header, 10, out));
  EXPECT_TRUE(out.empty());
  // A chunk length past the end is corrupt.
  Bytes bad = z;
  store_be32(bad.data() + kXerialHeaderSize, 1 << 30);
  EXPECT_FALSE(decompress(Compression::snappy, bad, 1 << 20, out));
}

// librdkafka sends one raw snappy block, no framing.
TEST(Compression, SnappyReadsRawBlock) {
  Bytes in = sample(50000, 9);
  std::string block;
  snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &block);
  Bytes z(block.begin(), block.end());
  Bytes out;
  ASSERT_TRUE(decompress(Compression::snappy, z, in.size(), out));
  EXPECT_EQ(out, in);
  EXPECT_FALSE(decompress(Compression::snappy, z, in.size() - 1, out));
}

TEST(Compression, Lz4IsAFrameWithIndependent64KBlocks) {
  Bytes z = compress(Compression::lz4, sample(1000));
  ASSERT_GE(z.size(), 7u);
  EXPECT_EQ(load_be32(z.data()), static_cast<int32_t>(0x04224D18));  // 0x184D2204 little-endian
  EXPECT_TRUE(z[4] & 0x20);   // FLG: block independence
  EXPECT_FALSE(z[4] & 0x08);  // FLG: no content size
  EXPECT_FALSE(z[4] & 0x01);  // FLG: no dictionary id
  EXPECT_EQ(z[5], 0x40);      // BD: 64 KiB blocks
}

TEST(Compression, ZstdReadsFramesWithoutContentSize) {
  Bytes in = sample(400000, 5);
  ZSTD_CStream* cs = ZSTD_createCStream();
  ZSTD_initCStream(cs, 3);
  Bytes z(ZSTD_compressBound(in.size()));
  ZSTD_outBuffer ob{z.data(), z.size(), 0};
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream(cs, &ob, &ib)));
  ASSERT_EQ(0u, ZSTD_endStream(cs, &ob));
  ZSTD_freeCStream(cs);
  z.resize(ob.pos);
  EXPECT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  Bytes out;
  ASSERT_TRUE(decompress(Compression::zstd, z, in.size(), out));
  EXPECT_EQ(out, in);
  EXPECT_FALSE(decompress(Compression::zstd, z, in.size() - 1, out));
  EXPECT_LE(out.size(), in.size() - 1);
}

TEST(Compression, CorruptOrTruncatedInputFails) {
  Bytes in = sample(100000, 11);
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    Bytes z = compress(c, in);
    Bytes out;
    // Truncated at several points.
    for (size_t cut : {size_t{0}, size_t{1}, z.size() / 2, z.size() - 1}) {
      Bytes t(z.begin(), z.begin() + cut);
      EXPECT_FALSE(decompress(c, t, 1 << 20, out)) << compression_name(c) << " cut " << cut;
    }
    // Garbage.
    EXPECT_FALSE(decompress(c, random_bytes(1000, 3), 1 << 20, out)) << compression_name(c);
    // A flipped byte inside the body: must fail or at least not crash nor
    // exceed the bound (snappy has no checksum, so it may "succeed").
    Bytes f = z;
    f[f.size() / 2] ^= 0x5a;
    if (decompress(c, f, 1 << 20, out)) {
      EXPECT_LE(out.size(), size_t{1} << 20);
    }
  }
  Bytes out;
  EXPECT_FALSE(decompress(Compression::none, Bytes(10), 9, out));
  EXPECT_FALSE(decompress(static_cast<Compression>(6), Bytes(10), 100, out));
}

// 64 MiB of zeros compresses to little; decompressing it with a 1 MiB bound
// must fail without growing the output past the bound.
TEST(Compression, DecompressionBombIsBounded) {
  Bytes zeros(64u << 20, 0);
  constexpr size_t kMax = 1 << 20;
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    Bytes z = compress(c, zeros);
    ASSERT_LT(z.size(), zeros.size() / 10) << compression_name(c);
    Bytes out;
    EXPECT_FALSE(decompress(c, z, kMax, out)) << compression_name(c);
    EXPECT_LE(out.capacity(), 2 * kMax) << compression_name(c);
  }
  // Exact fit succeeds, one byte less fails.
  Bytes small(100000, 0);
  for (auto c : kCompressionCodecs) {
    Bytes z = compress(c, small), out;
    EXPECT_TRUE(decompress(c, z, small.size(), out)) << compression_name(c);
    EXPECT_EQ(out, small);
    EXPECT_FALSE(decompress(c, z, small.size() - 1, out)) << compression_name(c);
  }
}

// A raw snappy block whose header claims a huge length is refused before the
// output is allocated.
TEST(Compression, SnappyLyingLengthRefused) {
  Bytes z = {0xff, 0xff, 0xff, 0x7f, 0x00};  // varint ~256 MiB, one literal tag
  Bytes out;
  EXPECT_FALSE(decompress(Compression::snappy, z, size_t{1} << 30, out));
  EXPECT_LT(out.capacity(), 1024u);
}

}  // namespace
}  // namespace samsa::protocol
