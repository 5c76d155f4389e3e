// Recovery of the compaction swap protocol (storage/FORMAT.md, "Compaction").
// A cleaned segment is written as "<base>.log.cleaned" (+ .index/.timeindex
// .cleaned), fdatasync'ed, renamed to ".swap" (indexes first, .log last) and
// the directory fsync'ed; only then are the segments it replaces deleted and
// the swap files renamed to their final names (indexes first, .log last).
//
// So a "<base>.log.swap" file is a complete, durable replacement of every
// segment whose base offset lies in [base, next offset of the swap file):
// recovery finishes the swap. ".cleaned" files were never committed: they are
// deleted (by Log::remove_leftovers, like other leftovers).
//
// Called only while a log is being opened, from the thread opening it.
#pragma once
#include <string>

#include "storage/env.h"

namespace samsa::storage {

// Completes every interrupted swap in `dir`: deletes the segments a
// "<base>.log.swap" replaces and any index file of <base> (final or .swap; the
// indexes are rebuilt when the segment is opened), then renames the swap to
// "<base>.log" and fsyncs the directory. `*swaps_completed` counts them.
Status complete_interrupted_swaps(Env* env, const std::string& dir, int* swaps_completed);

}  // namespace samsa::storage
