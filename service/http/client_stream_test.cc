// Streamed request and response bodies of http::Client: a body_source that
// pauses and is resumed from another thread, chunked and sized uploads, a
// body_sink with backpressure, non-2xx bodies kept whole, and Abort.
#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"
#include "service/http/client.h"
#include "service/http/server.h"

namespace wagate::http {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
  return s;
}

class StreamTest : public ::testing::Test {
 protected:
  StreamTest() : guard_(io_.get_executor()) {
    ServerOptions options;
    options.max_body_bytes = 64 << 20;
    server_ = std::make_unique<Server>(io_, options);
    server_->Handle("POST", "/upload", [this](Request req, Responder r) {
      {
        absl::MutexLock lock(&mu_);
        received_ = req.body;
        transfer_encoding_ = std::string(req.Header("Transfer-Encoding"));
        content_length_ = std::string(req.Header("Content-Length"));
      }
      r(TextResponse(200, absl::StrCat(req.body.size())));
    });
    server_->Handle("GET", "/download", [this](Request, Responder r) {
      r(TextResponse(200, download_));
    });
    server_->Handle("GET", "/missing", [](Request, Responder r) {
      r(TextResponse(404, "not here"));
    });
    EXPECT_TRUE(server_->Listen("127.0.0.1:0").ok());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    client_ = std::make_unique<Client>(io_);
  }
  ~StreamTest() override {
    client_.reset();
    server_->Stop();
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), path);
  }
  absl::StatusOr<ClientResponse> Run(ClientRequest request) {
    std::promise<absl::StatusOr<ClientResponse>> done;
    client_->Send(std::move(request),
                  [&](absl::StatusOr<ClientResponse> r) { done.set_value(r); });
    return done.get_future().get();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
  std::vector<std::thread> threads_;
  std::string download_ = Pattern(8 << 20);
  absl::Mutex mu_;
  std::string received_ ABSL_GUARDED_BY(mu_);
  std::string transfer_encoding_ ABSL_GUARDED_BY(mu_);
  std::string content_length_ ABSL_GUARDED_BY(mu_);
};

// A bounded byte pipe fed by a producer thread and drained by the source.
struct Pipe {
  absl::Mutex mu;
  std::string data ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
  int pauses ABSL_GUARDED_BY(mu) = 0;

  size_t Take(char* buf, size_t max) {
    absl::MutexLock lock(&mu);
    if (data.empty()) {
      if (closed) return 0;
      ++pauses;
      return kPauseBody;
    }
    size_t n = std::min(max, data.size());
    data.copy(buf, n);
    data.erase(0, n);
    return n;
  }
};

void Produce(Pipe* pipe, StreamControl* control, const std::string& body) {
  constexpr size_t kPiece = 100000;
  for (size_t off = 0; off < body.size(); off += kPiece) {
    // Wait for the pipe to drain: the producer is slower than curl, so the
    // source pauses between pieces.
    while (true) {
      {
        absl::MutexLock lock(&pipe->mu);
        if (pipe->data.size() < kPiece) break;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    {
      absl::MutexLock lock(&pipe->mu);
      pipe->data.append(body, off, kPiece);
    }
    control->Resume();
  }
  {
    absl::MutexLock lock(&pipe->mu);
    pipe->closed = true;
  }
  control->Resume();
}

TEST_F(StreamTest, ChunkedUploadPausesAndResumes) {
  const std::string body = Pattern(8 << 20);
  Pipe pipe;
  auto control = std::make_shared<StreamControl>();
  ClientRequest request;
  request.method = "POST";
  request.url = Url("/upload");
  request.body_source = [&](char* buf, size_t max) {
    return pipe.Take(buf, max);
  };
  request.control = control;
  std::thread producer([&] {
    absl::SleepFor(absl::Milliseconds(20));  // the source starts empty
    Produce(&pipe, control.get(), body);
  });
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  producer.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, absl::StrCat(body.size()));
  absl::MutexLock lock(&mu_);
  EXPECT_TRUE(received_ == body);
  EXPECT_EQ(transfer_encoding_, "chunked");
  absl::MutexLock plock(&pipe.mu);
  EXPECT_GT(pipe.pauses, 0);
}

TEST_F(StreamTest, SizedUploadSendsContentLength) {
  const std::string body = Pattern(300000);
  size_t offset = 0;
  ClientRequest request;
  request.method = "POST";
  request.url = Url("/upload");
  request.body_source_size = static_cast<int64_t>(body.size());
  request.body_source = [&](char* buf, size_t max) -> size_t {
    size_t n = std::min(max, body.size() - offset);
    body.copy(buf, n, offset);
    offset += n;
    return n;
  };
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  ASSERT_TRUE(r.ok()) << r.status();
  absl::MutexLock lock(&mu_);
  EXPECT_TRUE(received_ == body);
  EXPECT_EQ(content_length_, absl::StrCat(body.size()));
  EXPECT_EQ(transfer_encoding_, "");
}

TEST_F(StreamTest, SinkBackpressureKeepsTheBufferBounded) {
  constexpr size_t kBound = 256 << 10;
  absl::Mutex mu;
  std::deque<std::string> queue;
  size_t queued = 0, max_queued = 0;
  std::string got;
  std::atomic<bool> finished{false};
  int refusals = 0;
  auto control = std::make_shared<StreamControl>();
  ClientRequest request;
  request.url = Url("/download");
  request.control = control;
  request.body_sink = [&](absl::string_view piece) {
    absl::MutexLock lock(&mu);
    if (queued >= kBound) {
      ++refusals;
      return false;
    }
    queue.emplace_back(piece);
    queued += piece.size();
    max_queued = std::max(max_queued, queued);
    return true;
  };
  // A slow consumer draining the queue and waking the transfer.
  std::thread consumer([&] {
    while (true) {
      std::string piece;
      {
        absl::MutexLock lock(&mu);
        if (!queue.empty()) {
          piece = std::move(queue.front());
          queue.pop_front();
          queued -= piece.size();
        }
      }
      if (piece.empty()) {
        if (finished.load()) {
          absl::MutexLock lock(&mu);
          if (queue.empty()) break;
          continue;
        }
        absl::SleepFor(absl::Microseconds(200));
        continue;
      }
      got += piece;
      control->Resume();
    }
  });
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  finished = true;
  consumer.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(got.size(), download_.size());
  EXPECT_TRUE(got == download_);
  EXPECT_GT(refusals, 0);
  // At most one curl write (16 KiB, or what piled up while paused) past
  // the bound.
  EXPECT_LE(max_queued, kBound + (64 << 10));
}

TEST_F(StreamTest, ErrorBodiesBypassTheSink) {
  bool sink_called = false;
  ClientRequest request;
  request.url = Url("/missing");
  request.body_sink = [&](absl::string_view) {
    sink_called = true;
    return true;
  };
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "not here");
  EXPECT_FALSE(sink_called);
}

TEST_F(StreamTest, AbortFailsAPausedUploadWithCancelled) {
  auto control = std::make_shared<StreamControl>();
  ClientRequest request;
  request.method = "POST";
  request.url = Url("/upload");
  request.control = control;
  request.body_source = [](char*, size_t) { return kPauseBody; };
  std::thread aborter([&] {
    absl::SleepFor(absl::Milliseconds(50));
    control->Abort();
  });
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  aborter.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  // The control is unbound: Resume after the end is a no-op.
  control->Resume();
}

TEST_F(StreamTest, PooledTransferReusedForAPlainRequestAfterStreaming) {
  size_t offset = 0;
  const std::string body = Pattern(1000);
  ClientRequest streamed;
  streamed.method = "POST";
  streamed.url = Url("/upload");
  streamed.body_source = [&](char* buf, size_t max) -> size_t {
    size_t n = std::min(max, body.size() - offset);
    body.copy(buf, n, offset);
    offset += n;
    return n;
  };
  ASSERT_TRUE(Run(std::move(streamed)).ok());
  ClientRequest plain;
  plain.method = "POST";
  plain.url = Url("/upload");
  plain.body = "plain body";
  absl::StatusOr<ClientResponse> r = Run(std::move(plain));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "10");
  ClientRequest get;
  get.url = Url("/missing");
  r = Run(std::move(get));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

TEST_F(StreamTest, AbortEndsAPausedDownloadAtOnce) {
  auto control = std::make_shared<StreamControl>();
  std::atomic<int> calls{0};
  ClientRequest request;
  request.url = Url("/download");
  request.control = control;
  request.body_sink = [&](absl::string_view) {
    ++calls;
    return false;  // never takes anything: the transfer stays paused
  };
  std::thread aborter([&] {
    while (calls.load() == 0) absl::SleepFor(absl::Milliseconds(1));
    absl::SleepFor(absl::Milliseconds(20));
    control->Abort();
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  aborter.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  // Not left to a timeout: the abort itself ends it.
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(client_->in_flight(), 0u);
}

TEST_F(StreamTest, AbortBeforeStartFails) {
  auto control = std::make_shared<StreamControl>();
  control->Abort();
  ClientRequest request;
  request.url = Url("/download");
  request.control = control;
  request.body_sink = [](absl::string_view) { return true; };
  absl::StatusOr<ClientResponse> r = Run(std::move(request));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
}

}  // namespace
}  // namespace wagate::http
