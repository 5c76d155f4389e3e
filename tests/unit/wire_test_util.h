// Helpers for tests of generated message codecs: a message encoded at a
// version, and bytes decoded as a message (which must parse whole).
#pragma once
#include <gtest/gtest.h>

#include "protocol/wire.h"

namespace samsa::testing {

template <typename Msg>
Msg decode_as(const protocol::Bytes& b, int16_t version) {
  protocol::Reader r(b.data(), b.size());
  Msg m;
  m.decode(r, version);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return m;
}

template <typename Msg>
protocol::Bytes encode_as(const Msg& m, int16_t version) {
  protocol::Writer w;
  m.encode(w, version);
  return w.buffer();
}

}  // namespace samsa::testing
