#include "service/events/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/common/json_writer.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"

namespace wagate::events {
namespace {

constexpr absl::string_view kCursorPrefix = "e1";
constexpr size_t kCursorHexDigits = 16;
// Rows examined per automatic retention transaction, so pruning a large
// backlog never stalls appends for long.
constexpr int64_t kRetentionChunk = 20000;
// WAL size (pages) at which the checkpoint thread copies the WAL back into
// the database file.
constexpr int kCheckpointPages = 4000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  phone_number_id TEXT NOT NULL,
  waba_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  size INTEGER NOT NULL);
-- Payloads apart from the metadata, so a filtered scan reads only the small
-- metadata rows and fetches the payloads of the matching events.
CREATE TABLE IF NOT EXISTS payloads(
  seq INTEGER PRIMARY KEY,
  payload BLOB NOT NULL);
-- Dedupe ids outlive size-pruned events (until max_age). A rowid table:
-- rowid order is insertion order, which lets retention find old ids without
-- a time index.
CREATE TABLE IF NOT EXISTS seen(
  id TEXT NOT NULL UNIQUE,
  stored_at INTEGER NOT NULL);
-- filter_key: the group's Filter::Key; NULL for a group created before groups
-- stored their filter (the next member's filter is adopted).
CREATE TABLE IF NOT EXISTS consumer_groups(
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  filter_key TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending(
  grp TEXT NOT NULL,
  seq INTEGER NOT NULL,
  consumer TEXT NOT NULL,
  deadline INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  PRIMARY KEY(grp, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency(
  key TEXT PRIMARY KEY,
  done INTEGER NOT NULL,
  result BLOB,
  ttl INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  fingerprint BLOB) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency(expires_at);
INSERT OR IGNORE INTO meta(key, value) VALUES('last_seq', 0);
INSERT OR IGNORE INTO meta(key, value) VALUES('payload_bytes', 0);
-- Retention watermark (Store::PrunedThrough). Sequence numbers are issued
-- without gaps, so for a store created before the watermark existed,
-- everything below the oldest event left (or the whole log, if empty) was
-- pruned.
INSERT OR IGNORE INTO meta(key, value) SELECT 'pruned_seq',
  coalesce((SELECT min(seq) FROM events) - 1,
           (SELECT value FROM meta WHERE key='last_seq'));
)sql";

// Selects whole events; filters apply to "e.". CROSS JOIN keeps the scan
// on the metadata table (in seq order), fetching payloads only for rows that
// pass the filter.
constexpr const char* kEventColumns =
    "e.seq, e.id, e.kind, e.phone_number_id, e.waba_id, e.received_at, "
    "p.payload";
constexpr const char* kEventsJoin =
    "events e CROSS JOIN payloads p ON p.seq = e.seq";

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t ToMicros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

std::string ColumnString(sqlite3_stmt* stmt, int i) {
  const void* data = sqlite3_column_blob(stmt, i);
  int size = sqlite3_column_bytes(stmt, i);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), size);
}

// Reads a row selected with kEventColumns starting at column `first`.
EventRecord ReadEvent(sqlite3_stmt* stmt, int first = 0) {
  EventRecord e;
  e.cursor = EncodeSqliteCursor(sqlite3_column_int64(stmt, first));
  e.id = ColumnString(stmt, first + 1);
  e.kind = ColumnString(stmt, first + 2);
  e.phone_number_id = ColumnString(stmt, first + 3);
  e.waba_id = ColumnString(stmt, first + 4);
  e.received_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, first + 5));
  e.payload = ColumnString(stmt, first + 6);
  return e;
}

// " AND phone_number_id IN (SELECT value FROM json_each(?)) AND kind IN
// (...)" for `filter`, column names prefixed by `table`. Each list is ONE
// parameter (a JSON array), so the statement text depends only on which
// lists are set: a handful of cached statements, whatever the list sizes.
std::string FilterSql(const Filter& filter, absl::string_view table) {
  std::string sql;
  auto add = [&](const std::vector<std::string>& values,
                 absl::string_view column) {
    if (values.empty()) return;
    absl::StrAppend(&sql, " AND ", table, column,
                    " IN (SELECT value FROM json_each(?))");
  };
  add(filter.phone_number_ids, "phone_number_id");
  add(filter.kinds, "kind");
  return sql;
}

// `values` as a JSON array of strings.
std::string JsonArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    common::AppendJsonString(values[i], &out);
  }
  out += ']';
  return out;
}

void BindText(sqlite3_stmt* stmt, int index, absl::string_view text) {
  // SQLITE_STATIC: every statement is reset before the bound strings die.
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_STATIC);
}

void BindBlob(sqlite3_stmt* stmt, int index, absl::string_view bytes) {
  sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
}

// Binds the filter's lists in FilterSql order; returns the next index.
int BindFilter(sqlite3_stmt* stmt, int index, const Filter& filter) {
  for (const auto* values : {&filter.phone_number_ids, &filter.kinds}) {
    if (values->empty()) continue;
    // SQLITE_TRANSIENT: SQLite copies the temporary array.
    const std::string json = JsonArray(*values);
    sqlite3_bind_text(stmt, index++, json.data(), static_cast<int>(json.size()),
                      SQLITE_TRANSIENT);
  }
  return index;
}

// Resets a cached statement when it goes out of scope, so it can be reused
// and releases its bindings and read snapshot.
class ScopedStmt {
 public:
  explicit ScopedStmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedStmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ScopedStmt(const ScopedStmt&) = delete;
  ScopedStmt& operator=(const ScopedStmt&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// One SQLite connection with its prepared statements, used by one thread at
// a time.
class Connection {
 public:
  // `statements` counts the statements cached by every connection sharing
  // it (StoreStats::prepared_statements); it must outlive the connection.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, bool create, absl::Duration lock_timeout,
      std::atomic<uint64_t>* statements) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (create) flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto conn = std::unique_ptr<Connection>(new Connection(db, statements));
    if (rc != SQLITE_OK) {
      return absl::UnavailableError(
          absl::StrCat("cannot open event store \"", path,
                       "\": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(
        db, static_cast<int>(absl::ToInt64Milliseconds(lock_timeout)));
    return conn;
  }

  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statement_count_->fetch_sub(statements_.size(), std::memory_order_relaxed);
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  absl::Status Error(int rc, absl::string_view what) const {
    return absl::UnavailableError(absl::StrCat("event store: ", what,
                                               " failed: ", sqlite3_errstr(rc),
                                               " (", sqlite3_errmsg(db_), ")"));
  }

  absl::Status Exec(const char* sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return absl::OkStatus();
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    // Name the statement (its first line) so the operator sees what failed.
    absl::string_view what(sql);
    what = what.substr(0, std::min(what.find('\n'), size_t{40}));
    if (what.empty()) what = "schema";
    return absl::UnavailableError(
        absl::StrCat("event store: ", what, " failed: ", text));
  }

  // A cached prepared statement for `sql`.
  absl::StatusOr<sqlite3_stmt*> Prepare(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "prepare");
    statements_.emplace(sql, stmt);
    statement_count_->fetch_add(1, std::memory_order_relaxed);
    return stmt;
  }

  // Steps a statement that returns no rows (or whose rows are ignored).
  absl::Status Run(sqlite3_stmt* stmt, absl::string_view what) {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return Error(rc, what);
    return absl::OkStatus();
  }

  // Steps once: true on a row, false when done.
  absl::StatusOr<bool> Step(sqlite3_stmt* stmt, absl::string_view what) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Error(rc, what);
  }

  int Changes() const { return sqlite3_changes(db_); }

 private:
  Connection(sqlite3* db, std::atomic<uint64_t>* statements)
      : db_(db), statement_count_(statements) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  std::atomic<uint64_t>* const statement_count_;
};

class SqliteStore : public Store, public IdempotencyKeys {
 public:
  SqliteStore(std::string path, StoreOptions options)
      : path_(std::move(path)), options_(std::move(options)) {
    if (!options_.clock) options_.clock = [] { return absl::Now(); };
  }

  ~SqliteStore() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      absl::MutexLock lock(&checkpoint_mu_);
      checkpoint_stopping_ = true;
    }
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  }

  absl::Status Init() {
    ASSIGN_OR_RETURN(writer_,
                     Connection::Open(path_, true, options_.lock_timeout,
                                      &prepared_statements_));
    // WAL + synchronous=FULL: every COMMIT fsyncs the WAL before returning,
    // which is what makes Append's acknowledgement a durability promise.
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * wal,
                       writer_->Prepare("PRAGMA journal_mode=WAL"));
      ScopedStmt s(wal);
      ASSIGN_OR_RETURN(bool row, writer_->Step(wal, "enable WAL"));
      // SQLite keeps the old mode silently where WAL is impossible (e.g. no
      // shared memory on some network file systems).
      if (!row || ColumnString(wal, 0) != "wal") {
        return absl::FailedPreconditionError(absl::StrCat(
            "event store \"", path_, "\": cannot use WAL journal mode here"));
      }
    }
    RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous=FULL"));
    // Checkpoints (copying the WAL into the database file and syncing it)
    // run on their own thread and connection, so commits, and with them
    // webhook acknowledgements, never wait for one.
    RETURN_IF_ERROR(writer_->Exec("PRAGMA wal_autocheckpoint=0"));
    RETURN_IF_ERROR(writer_->Exec("PRAGMA journal_size_limit=67108864"));
    RETURN_IF_ERROR(writer_->Exec("PRAGMA cache_size=-32000"));
    RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    absl::Status schema = writer_->Exec(kSchema);
    if (schema.ok()) schema = AddIdempotencyFingerprint();
    if (schema.ok()) schema = MigrateSchema();
    if (!schema.ok()) {
      writer_->Exec("ROLLBACK").IgnoreError();
      return schema;
    }
    RETURN_IF_ERROR(writer_->Exec("COMMIT"));

    ASSIGN_OR_RETURN(
        sqlite3_stmt * last,
        writer_->Prepare("SELECT max((SELECT value FROM meta WHERE "
                         "key='last_seq'), coalesce(max(seq), 0)), (SELECT "
                         "value FROM meta WHERE key='payload_bytes') FROM "
                         "events"));
    {
      ScopedStmt s(last);
      ASSIGN_OR_RETURN(bool row, writer_->Step(last, "load position"));
      if (!row) return absl::InternalError("event store: no position row");
      next_seq_ = sqlite3_column_int64(last, 0) + 1;
      total_payload_bytes_ = sqlite3_column_int64(last, 1);
      payload_bytes_.store(total_payload_bytes_, std::memory_order_relaxed);
    }
    {
      absl::MutexLock lock(&mu_);
      next_retention_ = absl::Now() + options_.retention_interval;
    }
    ASSIGN_OR_RETURN(checkpointer_,
                     Connection::Open(path_, false, options_.lock_timeout,
                                      &prepared_statements_));
    RETURN_IF_ERROR(checkpointer_->Exec("PRAGMA synchronous=FULL"));
    sqlite3_wal_hook(writer_->db(), &SqliteStore::OnWalCommit, this);
    checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
    writer_thread_ = std::thread([this] { WriterLoop(); });
    writer_thread_id_ = writer_thread_.get_id();
    return absl::OkStatus();
  }

  // Brings a database created by an older version up to kSchema (inside
  // Init's schema transaction).
  absl::Status MigrateSchema() {
    ASSIGN_OR_RETURN(
        sqlite3_stmt * has_filter,
        writer_->Prepare("SELECT count(*) FROM pragma_table_info("
                         "'consumer_groups') WHERE name = 'filter_key'"));
    bool missing = false;
    {
      ScopedStmt s(has_filter);
      ASSIGN_OR_RETURN(bool row, writer_->Step(has_filter, "read schema"));
      missing = row && sqlite3_column_int(has_filter, 0) == 0;
    }
    if (!missing) return absl::OkStatus();
    // Existing groups get NULL: they adopt their next member's filter.
    return writer_->Exec(
        "ALTER TABLE consumer_groups ADD COLUMN filter_key TEXT");
  }

  // ---- Event log ----

  void Append(std::vector<EventRecord> events, AppendCallback done) override {
    if (events.empty()) {
      done(AppendResult{});
      return;
    }
    for (const EventRecord& e : events) {
      // An empty id would make every later id-less event a "duplicate" and
      // silently drop it: refuse loudly instead.
      if (e.id.empty()) {
        done(absl::InvalidArgumentError(
            absl::StrCat("event store: event of kind \"", e.kind,
                         "\" has no id; nothing of the batch was stored")));
        return;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_ &&
          queued_events_ + events.size() <= options_.max_queued_events) {
        queued_events_ += events.size();
        appends_.push_back(AppendJob{std::move(events), std::move(done)});
        return;
      }
    }
    rejected_queue_full_.fetch_add(1, std::memory_order_relaxed);
    done(absl::UnavailableError(
        "event store: too many events waiting to be written; retry later"));
  }

  absl::StatusOr<std::vector<EventRecord>> ReadAfter(
      absl::string_view cursor, size_t max, const Filter& filter) override {
    ASSIGN_OR_RETURN(int64_t after, ParseSqliteCursor(cursor));
    std::vector<EventRecord> out;
    if (max == 0) return out;
    ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    std::string sql = absl::StrCat(
        "SELECT ", kEventColumns, " FROM ", kEventsJoin, " WHERE e.seq > ?",
        FilterSql(filter, "e."), " ORDER BY e.seq LIMIT ?");
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, reader->Prepare(sql));
    ScopedStmt s(stmt);
    sqlite3_bind_int64(stmt, 1, after);
    int next = BindFilter(stmt, 2, filter);
    sqlite3_bind_int64(stmt, next, static_cast<int64_t>(max));
    while (true) {
      ASSIGN_OR_RETURN(bool row, reader->Step(stmt, "read events"));
      if (!row) break;
      out.push_back(ReadEvent(stmt));
    }
    return out;
  }

  absl::StatusOr<std::string> LatestCursor() override {
    ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                     reader->Prepare("SELECT value FROM meta WHERE "
                                     "key='last_seq'"));
    ScopedStmt s(stmt);
    ASSIGN_OR_RETURN(bool row, reader->Step(stmt, "read latest cursor"));
    int64_t seq = row ? sqlite3_column_int64(stmt, 0) : 0;
    return seq == 0 ? std::string() : EncodeSqliteCursor(seq);
  }

  absl::Status ValidateCursor(absl::string_view cursor) const override {
    return ParseSqliteCursor(cursor).status();
  }

  absl::StatusOr<std::string> PrunedThrough() override {
    ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                     reader->Prepare("SELECT value FROM meta WHERE "
                                     "key='pruned_seq'"));
    ScopedStmt s(stmt);
    ASSIGN_OR_RETURN(bool row, reader->Step(stmt, "read retention watermark"));
    int64_t seq = row ? sqlite3_column_int64(stmt, 0) : 0;
    return seq == 0 ? std::string() : EncodeSqliteCursor(seq);
  }

  ListenerId AddListener(Listener listener) override {
    absl::MutexLock lock(&listeners_mu_);
    ListenerId id = ++last_listener_id_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  void RemoveListener(ListenerId id) override {
    // Listeners run under listeners_mu_, so once we hold it none is running.
    absl::MutexLock lock(&listeners_mu_);
    listeners_.erase(id);
  }

  absl::StatusOr<RetentionResult> RunRetention() override {
    RetentionResult result;
    RETURN_IF_ERROR(RunInWriter([&]() -> absl::Status {
      bool more = true;
      while (more) {
        RETURN_IF_ERROR(RetentionStep(kRetentionChunk, &result, &more));
      }
      return absl::OkStatus();
    }));
    return result;
  }

  StoreStats Stats() const override {
    StoreStats s;
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.events_appended = events_appended_.load(std::memory_order_relaxed);
    s.duplicates = duplicates_.load(std::memory_order_relaxed);
    s.rejected_queue_full =
        rejected_queue_full_.load(std::memory_order_relaxed);
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    s.payload_bytes = payload_bytes_.load(std::memory_order_relaxed);
    s.prepared_statements =
        prepared_statements_.load(std::memory_order_relaxed);
    absl::MutexLock lock(&mu_);
    s.queued_events = queued_events_;
    return s;
  }

  // ---- Consumer groups ----

  absl::Status EnsureGroup(absl::string_view group,
                           absl::string_view start_after_cursor,
                           const Filter& filter) override {
    if (group.empty()) return absl::InvalidArgumentError("group is empty");
    ASSIGN_OR_RETURN(int64_t position, ParseSqliteCursor(start_after_cursor));
    const std::string key = filter.Key();
    return RunInWriter([&]() { return CreateGroup(group, position, key); });
  }

  absl::StatusOr<ClaimBatch> ClaimNext(absl::string_view group,
                                       absl::string_view consumer, size_t max,
                                       const Filter& filter,
                                       absl::Duration ack_timeout) override {
    if (group.empty()) return absl::InvalidArgumentError("group is empty");
    ClaimBatch batch;
    if (max == 0) return batch;
    const std::string key = filter.Key();
    RETURN_IF_ERROR(RunInWriter([&]() -> absl::Status {
      batch.events.clear();
      return Claim(group, consumer, max, filter, key, ack_timeout,
                   &batch.events);
    }));
    return batch;
  }

  absl::StatusOr<size_t> Ack(absl::string_view group,
                             const std::vector<std::string>& cursors) override {
    std::vector<int64_t> seqs;
    seqs.reserve(cursors.size());
    for (const auto& c : cursors) {
      ASSIGN_OR_RETURN(int64_t seq, ParseSqliteCursor(c));
      seqs.push_back(seq);
    }
    size_t acked = 0;
    if (seqs.empty()) return acked;
    RETURN_IF_ERROR(RunInWriter([&]() -> absl::Status {
      acked = 0;
      ASSIGN_OR_RETURN(sqlite3_stmt * del,
                       writer_->Prepare("DELETE FROM pending WHERE grp = ? "
                                        "AND seq = ?"));
      for (int64_t seq : seqs) {
        ScopedStmt s(del);
        BindText(del, 1, group);
        sqlite3_bind_int64(del, 2, seq);
        RETURN_IF_ERROR(writer_->Run(del, "ack"));
        acked += writer_->Changes();
      }
      return absl::OkStatus();
    }));
    return acked;
  }

  // ---- Idempotency keys ----
  // Queued to the writer like every write, so each runs in the next group
  // commit; the callback runs on the writer thread after that commit.

  IdempotencyKeys* idempotency_keys() override { return this; }

  void Begin(std::string key, std::string fingerprint, absl::Duration ttl,
             BeginCallback done) override {
    if (key.empty()) {
      done(absl::InvalidArgumentError("idempotency key is empty"));
      return;
    }
    auto result = std::make_shared<IdempotencyResult>();
    QueueTask(Task{
        [this, key = std::move(key), fingerprint = std::move(fingerprint), ttl,
         result]() -> absl::Status {
          int64_t now = ToMicros(options_.clock());
          ASSIGN_OR_RETURN(
              sqlite3_stmt * get,
              writer_->Prepare("SELECT done, result, fingerprint FROM "
                               "idempotency WHERE key = ? AND expires_at > ?"));
          {
            ScopedStmt s(get);
            BindText(get, 1, key);
            sqlite3_bind_int64(get, 2, now);
            ASSIGN_OR_RETURN(bool row,
                             writer_->Step(get, "read idempotency key"));
            if (row) {
              bool done = sqlite3_column_int(get, 0) != 0;
              result->state = done ? IdempotencyState::kDone
                                   : IdempotencyState::kInProgress;
              if (done) result->result = ColumnString(get, 1);
              result->fingerprint = ColumnString(get, 2);
              return absl::OkStatus();
            }
          }
          ASSIGN_OR_RETURN(
              sqlite3_stmt * put,
              writer_->Prepare("INSERT OR REPLACE INTO idempotency(key, done, "
                               "result, ttl, expires_at, fingerprint) "
                               "VALUES(?, 0, NULL, ?, ?, ?)"));
          ScopedStmt s(put);
          BindText(put, 1, key);
          sqlite3_bind_int64(put, 2, ToMicros(ttl));
          sqlite3_bind_int64(put, 3, now + ToMicros(ttl));
          BindBlob(put, 4, fingerprint);
          RETURN_IF_ERROR(writer_->Run(put, "reserve idempotency key"));
          *result = IdempotencyResult{};
          return absl::OkStatus();
        },
        [result, done = std::move(done)](absl::Status s) {
          if (!s.ok()) return done(std::move(s));
          done(std::move(*result));
        }});
  }

  void Complete(std::string key, std::string result,
                DoneCallback done) override {
    auto found = std::make_shared<bool>(false);
    QueueTask(Task{
        [this, key = std::move(key), result = std::move(result),
         found]() -> absl::Status {
          ASSIGN_OR_RETURN(
              sqlite3_stmt * upd,
              writer_->Prepare("UPDATE idempotency SET done = 1, result = ?, "
                               "expires_at = ? + ttl WHERE key = ?"));
          ScopedStmt s(upd);
          BindBlob(upd, 1, result);
          sqlite3_bind_int64(upd, 2, ToMicros(options_.clock()));
          BindText(upd, 3, key);
          RETURN_IF_ERROR(writer_->Run(upd, "complete idempotency key"));
          *found = writer_->Changes() > 0;
          return absl::OkStatus();
        },
        [found, done = std::move(done)](absl::Status s) {
          if (s.ok() && !*found) {
            s = absl::NotFoundError(
                "idempotency key was not reserved (or has expired)");
          }
          done(std::move(s));
        }});
  }

  void Abandon(std::string key, DoneCallback done) override {
    QueueTask(Task{[this, key = std::move(key)]() -> absl::Status {
                     ASSIGN_OR_RETURN(
                         sqlite3_stmt * del,
                         writer_->Prepare("DELETE FROM idempotency WHERE key = "
                                          "? AND done = 0"));
                     ScopedStmt s(del);
                     BindText(del, 1, key);
                     return writer_->Run(del, "abandon idempotency key");
                   },
                   std::move(done)});
  }

 private:
  struct AppendJob {
    std::vector<EventRecord> events;
    AppendCallback done;
  };

  // A write other than an append, run inside the next group-commit
  // transaction. `run` returns UNAVAILABLE only for a database failure, which
  // rolls back the whole transaction; other errors are the caller's and must
  // be returned before writing anything.
  struct Task {
    std::function<absl::Status()> run;
    std::function<void(absl::Status)> finish;
  };

  // Borrowed read connection, returned to the pool on destruction.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore* store, std::unique_ptr<Connection> conn)
        : store_(store), conn_(std::move(conn)) {}
    ReaderLease(ReaderLease&&) = default;
    ReaderLease& operator=(ReaderLease&&) = default;
    ~ReaderLease() {
      if (conn_) store_->ReleaseReader(std::move(conn_));
    }
    Connection* operator->() const { return conn_.get(); }

   private:
    SqliteStore* store_;
    std::unique_ptr<Connection> conn_;
  };

  absl::StatusOr<ReaderLease> AcquireReader() {
    {
      absl::MutexLock lock(&readers_mu_);
      if (!readers_.empty()) {
        auto conn = std::move(readers_.back());
        readers_.pop_back();
        return ReaderLease(this, std::move(conn));
      }
    }
    ASSIGN_OR_RETURN(auto conn,
                     Connection::Open(path_, false, options_.lock_timeout,
                                      &prepared_statements_));
    RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=1"));
    return ReaderLease(this, std::move(conn));
  }

  void ReleaseReader(std::unique_ptr<Connection> conn) {
    absl::MutexLock lock(&readers_mu_);
    // Keep a few idle connections; close the rest.
    if (readers_.size() < 4) readers_.push_back(std::move(conn));
  }

  // Runs `fn` on the writer thread inside the next transaction and returns
  // its status once committed (or the commit's error).
  absl::Status RunInWriter(std::function<absl::Status()> fn) {
    if (std::this_thread::get_id() == writer_thread_id_) {
      return absl::FailedPreconditionError(
          "event store: called from an Append callback or listener");
    }
    absl::Notification finished;
    absl::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::UnavailableError("event store is closing");
      tasks_.push_back(Task{std::move(fn), [&](absl::Status s) {
                              status = std::move(s);
                              finished.Notify();
                            }});
    }
    finished.WaitForNotification();
    return status;
  }

  // Queues `task` for the next transaction without waiting for it; a
  // closing store refuses it at once (its `finish` runs here).
  void QueueTask(Task task) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        tasks_.push_back(std::move(task));
        return;
      }
    }
    task.finish(absl::UnavailableError("event store is closing"));
  }

  // Stores made before fingerprints existed get the column (inside the
  // schema transaction of Init). Their keys keep an empty fingerprint.
  absl::Status AddIdempotencyFingerprint() {
    bool present = false;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * info,
                       writer_->Prepare("SELECT 1 FROM pragma_table_info("
                                        "'idempotency') WHERE name = "
                                        "'fingerprint'"));
      ScopedStmt s(info);
      ASSIGN_OR_RETURN(present, writer_->Step(info, "read idempotency schema"));
    }
    if (present) return absl::OkStatus();
    return writer_->Exec("ALTER TABLE idempotency ADD COLUMN fingerprint BLOB");
  }

  // sqlite3_wal_hook: runs on the writer thread after each commit.
  static int OnWalCommit(void* self, sqlite3*, const char*, int wal_pages) {
    if (wal_pages >= kCheckpointPages) {
      auto* store = static_cast<SqliteStore*>(self);
      absl::MutexLock lock(&store->checkpoint_mu_);
      store->checkpoint_requested_ = true;
    }
    return SQLITE_OK;
  }

  bool CheckpointWantedLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_) {
    return checkpoint_requested_ || checkpoint_stopping_;
  }

  void CheckpointLoop() {
    while (true) {
      {
        absl::MutexLock lock(&checkpoint_mu_);
        checkpoint_mu_.Await(
            absl::Condition(this, &SqliteStore::CheckpointWantedLocked));
        if (checkpoint_stopping_) return;
        checkpoint_requested_ = false;
      }
      // PASSIVE never blocks the writer: it copies what it can; the writer
      // restarts the WAL from its beginning once everything is copied.
      int rc = sqlite3_wal_checkpoint_v2(checkpointer_->db(), nullptr,
                                         SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                         nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log::Warning("events", "checkpoint failed",
                     {{"error", sqlite3_errmsg(checkpointer_->db())}});
      }
    }
  }

  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !appends_.empty() || !tasks_.empty();
  }

  bool RetentionDue() const {
    absl::MutexLock lock(&mu_);
    return absl::Now() >= next_retention_;
  }

  void WriterLoop() {
    while (true) {
      std::deque<AppendJob> appends;
      std::deque<Task> tasks;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithDeadline(
            absl::Condition(this, &SqliteStore::HasWorkLocked),
            next_retention_);
        if (stopping_ && appends_.empty() && tasks_.empty()) break;
        appends.swap(appends_);
        tasks.swap(tasks_);
        queued_events_ = 0;
      }
      if (!appends.empty() || !tasks.empty()) {
        CommitRound(std::move(appends), std::move(tasks));
      }
      if (RetentionDue()) AutoRetention();
    }
  }

  // One group commit: all waiting appends and tasks, one transaction.
  void CommitRound(std::deque<AppendJob> appends, std::deque<Task> tasks) {
    const int64_t first_seq = next_seq_;
    const int64_t bytes_before = total_payload_bytes_;
    const int64_t now = ToMicros(options_.clock());
    std::vector<AppendResult> results(appends.size());
    std::vector<absl::Status> task_status(tasks.size());
    std::vector<EventRecord> stored;
    uint64_t duplicates = 0;

    absl::Status status = writer_->Exec("BEGIN IMMEDIATE");
    for (size_t j = 0; status.ok() && j < appends.size(); ++j) {
      status = InsertBatch(now, &appends[j].events, &results[j], &stored,
                           &duplicates);
    }
    for (size_t t = 0; status.ok() && t < tasks.size(); ++t) {
      task_status[t] = tasks[t].run();
      if (absl::IsUnavailable(task_status[t])) status = task_status[t];
    }
    if (status.ok() &&
        (next_seq_ != first_seq || total_payload_bytes_ != bytes_before)) {
      status = SaveMeta();
    }
    if (status.ok()) status = writer_->Exec("COMMIT");

    if (!status.ok()) {
      if (!sqlite3_get_autocommit(writer_->db())) {
        writer_->Exec("ROLLBACK").IgnoreError();
      }
      next_seq_ = first_seq;
      total_payload_bytes_ = bytes_before;
      stored.clear();
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      log::Warning("events", "write transaction failed",
                   {{"error", std::string(status.message())},
                    {"appends", absl::StrCat(appends.size())},
                    {"tasks", absl::StrCat(tasks.size())}});
    } else {
      transactions_.fetch_add(1, std::memory_order_relaxed);
      events_appended_.fetch_add(stored.size(), std::memory_order_relaxed);
      duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
      if (!stored.empty()) {
        absl::MutexLock lock(&listeners_mu_);
        for (auto& [id, listener] : listeners_) listener(stored);
      }
    }
    payload_bytes_.store(total_payload_bytes_, std::memory_order_relaxed);
    for (size_t j = 0; j < appends.size(); ++j) {
      if (status.ok()) {
        appends[j].done(std::move(results[j]));
      } else {
        appends[j].done(status);
      }
    }
    for (size_t t = 0; t < tasks.size(); ++t) {
      tasks[t].finish(status.ok() ? task_status[t] : status);
    }
  }

  absl::Status InsertBatch(int64_t now, std::vector<EventRecord>* events,
                           AppendResult* result,
                           std::vector<EventRecord>* stored,
                           uint64_t* duplicates) {
    ASSIGN_OR_RETURN(sqlite3_stmt * seen,
                     writer_->Prepare("INSERT OR IGNORE INTO seen(id, "
                                      "stored_at) VALUES(?, ?)"));
    ASSIGN_OR_RETURN(
        sqlite3_stmt * insert,
        writer_->Prepare("INSERT INTO events(seq, id, kind, phone_number_id, "
                         "waba_id, received_at, stored_at, size) "
                         "VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
    ASSIGN_OR_RETURN(sqlite3_stmt * insert_payload,
                     writer_->Prepare("INSERT INTO payloads(seq, payload) "
                                      "VALUES(?, ?)"));
    result->items.resize(events->size());
    for (size_t i = 0; i < events->size(); ++i) {
      EventRecord& e = (*events)[i];
      {
        ScopedStmt s(seen);
        BindText(seen, 1, e.id);
        sqlite3_bind_int64(seen, 2, now);
        RETURN_IF_ERROR(writer_->Run(seen, "dedupe event"));
      }
      if (writer_->Changes() == 0) {
        result->items[i].duplicate = true;
        ++*duplicates;
        continue;
      }
      const int64_t seq = next_seq_++;
      {
        ScopedStmt s(insert);
        sqlite3_bind_int64(insert, 1, seq);
        BindText(insert, 2, e.id);
        BindText(insert, 3, e.kind);
        BindText(insert, 4, e.phone_number_id);
        BindText(insert, 5, e.waba_id);
        sqlite3_bind_int64(insert, 6, ToMicros(e.received_at));
        sqlite3_bind_int64(insert, 7, now);
        sqlite3_bind_int64(insert, 8, static_cast<int64_t>(e.payload.size()));
        RETURN_IF_ERROR(writer_->Run(insert, "append event"));
      }
      {
        ScopedStmt s(insert_payload);
        sqlite3_bind_int64(insert_payload, 1, seq);
        BindBlob(insert_payload, 2, e.payload);
        RETURN_IF_ERROR(writer_->Run(insert_payload, "append payload"));
      }
      total_payload_bytes_ += static_cast<int64_t>(e.payload.size());
      e.cursor = EncodeSqliteCursor(seq);
      result->items[i].cursor = e.cursor;
      stored->push_back(std::move(e));
    }
    return absl::OkStatus();
  }

  // Persists what Init would otherwise have to recompute by scanning the
  // log: the last sequence issued (never reused, even if the newest events
  // are pruned) and the payload bytes stored (the size budget).
  absl::Status SaveMeta() {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                     writer_->Prepare("UPDATE meta SET value = CASE key WHEN "
                                      "'last_seq' THEN ? ELSE ? END WHERE key "
                                      "IN ('last_seq', 'payload_bytes')"));
    ScopedStmt s(stmt);
    sqlite3_bind_int64(stmt, 1, next_seq_ - 1);
    sqlite3_bind_int64(stmt, 2, total_payload_bytes_);
    return writer_->Run(stmt, "save position");
  }

  // Creates the group with `filter_key` at `position` if it does not exist;
  // else checks its filter (adopting `filter_key` if it has none).
  // FAILED_PRECONDITION, before writing anything, if the filters differ.
  absl::Status CreateGroup(absl::string_view group, int64_t position,
                           const std::string& filter_key) {
    bool exists = false;
    bool has_filter = false;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * get,
                       writer_->Prepare("SELECT filter_key FROM "
                                        "consumer_groups WHERE name = ?"));
      ScopedStmt s(get);
      BindText(get, 1, group);
      ASSIGN_OR_RETURN(exists, writer_->Step(get, "read consumer group"));
      if (exists && sqlite3_column_type(get, 0) != SQLITE_NULL) {
        has_filter = true;
        if (ColumnString(get, 0) != filter_key) {
          return GroupFilterDiffersError(group);
        }
      }
    }
    if (exists && has_filter) return absl::OkStatus();
    ASSIGN_OR_RETURN(
        sqlite3_stmt * put,
        writer_->Prepare(exists ? "UPDATE consumer_groups SET filter_key = ? "
                                  "WHERE name = ?"
                                : "INSERT INTO consumer_groups(filter_key, "
                                  "name, position) VALUES(?, ?, ?)"));
    ScopedStmt s(put);
    BindText(put, 1, filter_key);
    BindText(put, 2, group);
    if (!exists) sqlite3_bind_int64(put, 3, position);
    return writer_->Run(put, "create consumer group");
  }

  absl::Status Claim(absl::string_view group, absl::string_view consumer,
                     size_t max, const Filter& filter,
                     const std::string& filter_key, absl::Duration ack_timeout,
                     std::vector<ClaimedEvent>* claimed) {
    const int64_t now = ToMicros(options_.clock());
    const int64_t deadline = now + ToMicros(ack_timeout);
    RETURN_IF_ERROR(CreateGroup(group, 0, filter_key));

    // 1. Redeliveries: pending events whose ack deadline has passed.
    std::vector<int64_t> redelivered;
    {
      std::string sql = absl::StrCat(
          "SELECT pd.deliveries, ", kEventColumns,
          " FROM pending pd CROSS JOIN events e ON e.seq = pd.seq CROSS JOIN "
          "payloads p ON p.seq = e.seq WHERE pd.grp = ? AND pd.deadline <= ?",
          FilterSql(filter, "e."), " ORDER BY pd.seq LIMIT ?");
      ASSIGN_OR_RETURN(sqlite3_stmt * stmt, writer_->Prepare(sql));
      ScopedStmt s(stmt);
      BindText(stmt, 1, group);
      sqlite3_bind_int64(stmt, 2, now);
      int next = BindFilter(stmt, 3, filter);
      sqlite3_bind_int64(stmt, next, static_cast<int64_t>(max));
      while (true) {
        ASSIGN_OR_RETURN(bool row, writer_->Step(stmt, "read expired claims"));
        if (!row) break;
        ClaimedEvent c;
        c.delivery_count = sqlite3_column_int(stmt, 0) + 1;
        c.event = ReadEvent(stmt, 1);
        redelivered.push_back(sqlite3_column_int64(stmt, 1));
        claimed->push_back(std::move(c));
      }
    }
    if (!redelivered.empty()) {
      ASSIGN_OR_RETURN(
          sqlite3_stmt * upd,
          writer_->Prepare("UPDATE pending SET consumer = ?, deadline = ?, "
                           "deliveries = deliveries + 1 WHERE grp = ? AND "
                           "seq = ?"));
      for (int64_t seq : redelivered) {
        ScopedStmt s(upd);
        BindText(upd, 1, consumer);
        sqlite3_bind_int64(upd, 2, deadline);
        BindText(upd, 3, group);
        sqlite3_bind_int64(upd, 4, seq);
        RETURN_IF_ERROR(writer_->Run(upd, "redeliver claim"));
      }
    }
    if (claimed->size() >= max) return absl::OkStatus();

    // 2. Events never delivered to the group, after its position.
    int64_t position = 0;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                       writer_->Prepare("SELECT position FROM consumer_groups "
                                        "WHERE name = ?"));
      ScopedStmt s(stmt);
      BindText(stmt, 1, group);
      ASSIGN_OR_RETURN(bool row, writer_->Step(stmt, "read group position"));
      if (row) position = sqlite3_column_int64(stmt, 0);
    }
    const size_t wanted = max - claimed->size();
    const size_t first_new = claimed->size();
    {
      std::string sql = absl::StrCat(
          "SELECT ", kEventColumns, " FROM ", kEventsJoin, " WHERE e.seq > ?",
          FilterSql(filter, "e."), " ORDER BY e.seq LIMIT ?");
      ASSIGN_OR_RETURN(sqlite3_stmt * stmt, writer_->Prepare(sql));
      ScopedStmt s(stmt);
      sqlite3_bind_int64(stmt, 1, position);
      int next = BindFilter(stmt, 2, filter);
      sqlite3_bind_int64(stmt, next, static_cast<int64_t>(wanted));
      while (true) {
        ASSIGN_OR_RETURN(bool row, writer_->Step(stmt, "read new events"));
        if (!row) break;
        ClaimedEvent c;
        c.event = ReadEvent(stmt);
        claimed->push_back(std::move(c));
      }
    }
    const size_t got = claimed->size() - first_new;
    // A full page ends at its last event; a short page means everything up
    // to the newest event was examined (the filter skipped the rest).
    int64_t new_position = position;
    if (got == wanted) {
      new_position = ParseSqliteCursor(claimed->back().event.cursor).value();
    } else {
      new_position = std::max(position, next_seq_ - 1);
    }
    if (got > 0) {
      ASSIGN_OR_RETURN(
          sqlite3_stmt * ins,
          writer_->Prepare("INSERT OR REPLACE INTO pending(grp, seq, consumer, "
                           "deadline, deliveries) VALUES(?, ?, ?, ?, 1)"));
      for (size_t i = first_new; i < claimed->size(); ++i) {
        ScopedStmt s(ins);
        BindText(ins, 1, group);
        sqlite3_bind_int64(
            ins, 2, ParseSqliteCursor((*claimed)[i].event.cursor).value());
        BindText(ins, 3, consumer);
        sqlite3_bind_int64(ins, 4, deadline);
        RETURN_IF_ERROR(writer_->Run(ins, "record claim"));
      }
    }
    if (new_position != position) {
      ASSIGN_OR_RETURN(sqlite3_stmt * upd,
                       writer_->Prepare("UPDATE consumer_groups SET position = "
                                        "? WHERE name = ?"));
      ScopedStmt s(upd);
      sqlite3_bind_int64(upd, 1, new_position);
      BindText(upd, 2, group);
      RETURN_IF_ERROR(writer_->Run(upd, "advance group"));
    }
    return absl::OkStatus();
  }

  // Prunes at most `limit` events and `limit` dedupe ids (oldest first) plus
  // expired idempotency keys; `more` is set if the limit was reached. Must
  // run inside a writer transaction. Relies on rows being inserted in
  // stored_at order (a clock stepping back only delays pruning).
  absl::Status RetentionStep(int64_t limit, RetentionResult* result,
                             bool* more) {
    *more = false;
    const int64_t now = ToMicros(options_.clock());
    const int64_t cutoff = now - ToMicros(options_.retention.max_age);
    const int64_t max_bytes = options_.retention.max_payload_bytes;

    // Events: the oldest ones that are too old or over the size budget.
    int64_t last_pruned = 0, freed = 0, pruned = 0, examined = 0;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                       writer_->Prepare("SELECT seq, stored_at, size FROM "
                                        "events ORDER BY seq LIMIT ?"));
      ScopedStmt s(stmt);
      sqlite3_bind_int64(stmt, 1, limit);
      while (true) {
        ASSIGN_OR_RETURN(bool row, writer_->Step(stmt, "scan old events"));
        if (!row) break;
        ++examined;
        const int64_t stored_at = sqlite3_column_int64(stmt, 1);
        const bool over_size =
            max_bytes > 0 && total_payload_bytes_ - freed > max_bytes;
        if (stored_at >= cutoff && !over_size) break;
        last_pruned = sqlite3_column_int64(stmt, 0);
        freed += sqlite3_column_int64(stmt, 2);
        ++pruned;
      }
    }
    if (pruned > 0) {
      for (const char* sql : {"DELETE FROM events WHERE seq <= ?",
                              "DELETE FROM payloads WHERE seq <= ?",
                              "DELETE FROM pending WHERE seq <= ?"}) {
        ASSIGN_OR_RETURN(sqlite3_stmt * del, writer_->Prepare(sql));
        ScopedStmt s(del);
        sqlite3_bind_int64(del, 1, last_pruned);
        RETURN_IF_ERROR(writer_->Run(del, "prune events"));
      }
      // The watermark moves in the same transaction as the deletion.
      ASSIGN_OR_RETURN(sqlite3_stmt * mark,
                       writer_->Prepare("UPDATE meta SET value = max(value, "
                                        "?) WHERE key = 'pruned_seq'"));
      ScopedStmt s(mark);
      sqlite3_bind_int64(mark, 1, last_pruned);
      RETURN_IF_ERROR(writer_->Run(mark, "advance retention watermark"));
      if (pruned == limit) *more = true;
    }

    // Dedupe ids older than max_age.
    int64_t last_id_row = 0, ids = 0;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                       writer_->Prepare("SELECT rowid, stored_at FROM seen "
                                        "ORDER BY rowid LIMIT ?"));
      ScopedStmt s(stmt);
      sqlite3_bind_int64(stmt, 1, limit);
      while (true) {
        ASSIGN_OR_RETURN(bool row, writer_->Step(stmt, "scan old ids"));
        if (!row || sqlite3_column_int64(stmt, 1) >= cutoff) break;
        last_id_row = sqlite3_column_int64(stmt, 0);
        ++ids;
      }
    }
    if (ids > 0) {
      ASSIGN_OR_RETURN(sqlite3_stmt * del,
                       writer_->Prepare("DELETE FROM seen WHERE rowid <= ?"));
      ScopedStmt s(del);
      sqlite3_bind_int64(del, 1, last_id_row);
      RETURN_IF_ERROR(writer_->Run(del, "prune ids"));
      if (ids == limit) *more = true;
    }

    // Expired idempotency keys.
    {
      ASSIGN_OR_RETURN(
          sqlite3_stmt * del,
          writer_->Prepare("DELETE FROM idempotency WHERE key IN (SELECT key "
                           "FROM idempotency WHERE expires_at <= ? LIMIT ?)"));
      ScopedStmt s(del);
      sqlite3_bind_int64(del, 1, now);
      sqlite3_bind_int64(del, 2, limit);
      RETURN_IF_ERROR(writer_->Run(del, "prune idempotency keys"));
      const int64_t keys = writer_->Changes();
      result->idempotency_keys_pruned += keys;
      if (keys == limit) *more = true;
    }

    total_payload_bytes_ -= freed;
    result->events_pruned += pruned;
    result->dedupe_ids_pruned += ids;
    return absl::OkStatus();
  }

  // Runs one bounded retention step in its own transaction.
  void AutoRetention() {
    RetentionResult result;
    bool more = false;
    const int64_t bytes_before = total_payload_bytes_;
    absl::Status status = writer_->Exec("BEGIN IMMEDIATE");
    if (status.ok()) status = RetentionStep(kRetentionChunk, &result, &more);
    if (status.ok() && total_payload_bytes_ != bytes_before) {
      status = SaveMeta();
    }
    if (status.ok()) status = writer_->Exec("COMMIT");
    if (!status.ok()) {
      if (!sqlite3_get_autocommit(writer_->db())) {
        writer_->Exec("ROLLBACK").IgnoreError();
      }
      total_payload_bytes_ = bytes_before;
      log::Warning("events", "retention failed",
                   {{"error", std::string(status.message())}});
      more = false;
    } else if (result.events_pruned > 0 || result.dedupe_ids_pruned > 0) {
      log::Info("events", "retention",
                {{"events_pruned", absl::StrCat(result.events_pruned)},
                 {"dedupe_ids_pruned", absl::StrCat(result.dedupe_ids_pruned)},
                 {"idempotency_keys_pruned",
                  absl::StrCat(result.idempotency_keys_pruned)}});
    }
    payload_bytes_.store(total_payload_bytes_, std::memory_order_relaxed);
    absl::MutexLock lock(&mu_);
    next_retention_ = absl::Now() + (more ? absl::ZeroDuration()
                                          : options_.retention_interval);
  }

  const std::string path_;
  StoreOptions options_;

  // Statements cached by the connections below; declared before them, so it
  // outlives them.
  std::atomic<uint64_t> prepared_statements_{0};

  // Writer-thread state (and Init, before the thread starts).
  std::unique_ptr<Connection> writer_;
  int64_t next_seq_ = 1;
  int64_t total_payload_bytes_ = 0;
  std::thread writer_thread_;
  std::thread::id writer_thread_id_;

  std::unique_ptr<Connection> checkpointer_;  // checkpoint thread only
  std::thread checkpoint_thread_;
  absl::Mutex checkpoint_mu_;
  bool checkpoint_requested_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  bool checkpoint_stopping_ ABSL_GUARDED_BY(checkpoint_mu_) = false;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<AppendJob> appends_ ABSL_GUARDED_BY(mu_);
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  size_t queued_events_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_retention_ ABSL_GUARDED_BY(mu_);

  absl::Mutex listeners_mu_;
  ListenerId last_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 0;
  std::map<ListenerId, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> readers_
      ABSL_GUARDED_BY(readers_mu_);

  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> events_appended_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> rejected_queue_full_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<int64_t> payload_bytes_{0};  // copy of total_payload_bytes_
};

}  // namespace

std::string EncodeSqliteCursor(int64_t sequence) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kCursorPrefix);
  out.resize(kCursorPrefix.size() + kCursorHexDigits);
  uint64_t v = static_cast<uint64_t>(sequence);
  for (size_t i = 0; i < kCursorHexDigits; ++i) {
    out[out.size() - 1 - i] = kHex[v & 0xf];
    v >>= 4;
  }
  return out;
}

absl::StatusOr<int64_t> ParseSqliteCursor(absl::string_view cursor) {
  if (cursor.empty()) return 0;
  auto bad = [] { return absl::InvalidArgumentError("malformed cursor"); };
  if (cursor.size() != kCursorPrefix.size() + kCursorHexDigits ||
      cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix) {
    return bad();
  }
  uint64_t v = 0;
  for (char c : cursor.substr(kCursorPrefix.size())) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return bad();
    }
    v = (v << 4) | static_cast<uint64_t>(digit);
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return bad();
  return static_cast<int64_t>(v);
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const std::string& path, const StoreOptions& options) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot create directory \"", parent.string(), "\": ", ec.message()));
    }
  }
  auto store = std::make_unique<SqliteStore>(path, options);
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace wagate::events
