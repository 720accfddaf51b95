// The SQLite backend of the event store (the embedded default, `--store
// sqlite:PATH`).
//
// Design, in short:
//  - One writer thread owns the only writing connection. Every write (event
//    appends, consumer-group claims and acks, idempotency keys, retention)
//    is queued to it; it takes everything waiting and commits it in ONE
//    transaction with one fsync (group commit), then runs the callbacks.
//  - WAL journal with synchronous=FULL: SQLite fsyncs the WAL on every
//    commit, so a transaction is durable when COMMIT returns — even across
//    power loss, not only process crashes (NORMAL would sync only at
//    checkpoints). Append's `done` runs after that COMMIT.
//  - Reads use a small pool of separate connections: in WAL mode readers see
//    the last committed snapshot and never block the writer.
//  - Cursors are "e1" followed by the 16-digit lowercase hex of an internal
//    sequence number, so they compare as strings in log order. Sequence
//    numbers are never reused, even after retention empties the log.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                    OpenSqliteStore("/var/lib/wagate/events.db", {}));
#ifndef WAGATE_SERVICE_EVENTS_SQLITE_STORE_H_
#define WAGATE_SERVICE_EVENTS_SQLITE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/events/store.h"

namespace wagate::events {

// Opens (creating if needed, with parent directories) the store at `path`.
// UNAVAILABLE if the file cannot be opened or its schema created.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const std::string& path, const StoreOptions& options);

// Cursor encoding of the SQLite backend, exposed for tests. "" parses as 0
// (before the oldest event); garbage is INVALID_ARGUMENT.
std::string EncodeSqliteCursor(int64_t sequence);
absl::StatusOr<int64_t> ParseSqliteCursor(absl::string_view cursor);

}  // namespace wagate::events

#endif  // WAGATE_SERVICE_EVENTS_SQLITE_STORE_H_
