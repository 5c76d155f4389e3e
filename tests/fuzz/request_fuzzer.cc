// libFuzzer target: one input = one request frame without its size prefix, as
// the broker receives it. Decodes the header exactly as server/broker.cc does,
// then the body with the generated codec of that API and version, and for
// Produce the record batches inside. Nothing may crash, hang or allocate
// beyond a small multiple of the input.
#include <cstddef>
#include <cstdint>

#include "protocol/api_registry.h"
#include "protocol/messages/produce.h"
#include "protocol/record_batch.h"
#include "protocol/wire.h"

using namespace samsa::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r(data, size);
  int16_t key = r.i16();
  int16_t version = r.i16();
  r.i32();
  r.nstring(false);
  if (!r.ok()) return 0;
  auto* info = find_api(key);
  if (!info || version < info->min_version || version > info->max_version) return 0;
  if (info->is_flexible(version)) {
    uint32_t n = r.uvarint();
    if (n > r.remaining()) return 0;
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.uvarint();
      r.skip(r.uvarint());
    }
    if (!r.ok()) return 0;
  }
  Reader body = r;
  decode_any_request(key, version, body);
  if (key == ProduceRequest::api_key) {
    ProduceRequest req;
    req.decode(r, version);
    if (!r.ok()) return 0;
    for (auto& t : req.topic_data)
      for (auto& p : t.partition_data) {
        auto batches = leading_complete_batches(p.records.view);
        for (auto b : batches) {
          if (validate_batch(b) != samsa::ErrorCode::NONE) continue;
          RecordIterator it;
          if (it.open(b, 1 << 20) != samsa::ErrorCode::NONE) continue;
          RecordView rv;
          while (it.next(rv)) decode_headers(rv);
        }
      }
  }
  return 0;
}
