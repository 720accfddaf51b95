#include "service/graph/graph_client.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "service/graph/graph_error.h"

namespace wagate::graph {

void Redact(absl::string_view secret, std::string* text) {
  if (secret.empty() ||
      text->find(secret.data(), 0, secret.size()) == std::string::npos) {
    return;
  }
  absl::StrReplaceAll({{secret, "[redacted]"}}, text);
}

namespace {

void RedactError(absl::string_view token, v1::GraphError* e) {
  Redact(token, e->mutable_message());
  Redact(token, e->mutable_details());
  Redact(token, e->mutable_error_user_title());
  Redact(token, e->mutable_error_user_msg());
}

}  // namespace

GraphClient::GraphClient(http::Client& http, GraphClientOptions options)
    : http_(http),
      options_(std::move(options)),
      state_(std::make_shared<State>()) {
  absl::string_view base = options_.base_url;
  while (absl::EndsWith(base, "/")) base.remove_suffix(1);
  url_prefix_ = std::string(base);
  if (!options_.api_version.empty()) {
    absl::StrAppend(&url_prefix_, "/", options_.api_version);
  }
}

void GraphClient::SetObserver(
    std::function<void(const GraphCallObservation&)> observer) {
  state_->observer = std::move(observer);
}

std::string GraphClient::Url(const GraphCall& call) const {
  if (!call.url.empty()) return call.url;
  std::string url = url_prefix_;
  if (!absl::StartsWith(call.path, "/")) url.push_back('/');
  url.append(call.path);
  char sep = '?';
  for (const auto& [key, value] : call.query) {
    url.push_back(sep);
    sep = '&';
    absl::StrAppend(&url, http::PercentEncode(key), "=",
                    http::PercentEncode(value));
  }
  return url;
}

GraphClientStats GraphClient::stats() const {
  GraphClientStats s;
  s.calls = state_->calls.load(std::memory_order_relaxed);
  s.http_errors = state_->http_errors.load(std::memory_order_relaxed);
  s.transport_errors = state_->transport_errors.load(std::memory_order_relaxed);
  s.total_latency = absl::Nanoseconds(
      state_->total_latency_ns.load(std::memory_order_relaxed));
  return s;
}

void GraphClient::Call(GraphCall call, std::function<void(GraphResult)> done) {
  const absl::Time start = absl::Now();
  auto state = state_;
  auto finish = [state, operation = std::move(call.operation),
                 done = std::move(done)](GraphResult result) {
    state->calls.fetch_add(1, std::memory_order_relaxed);
    state->total_latency_ns.fetch_add(absl::ToInt64Nanoseconds(result.latency),
                                      std::memory_order_relaxed);
    if (result.http_status >= 400) {
      state->http_errors.fetch_add(1, std::memory_order_relaxed);
    } else if (result.http_status == 0) {
      state->transport_errors.fetch_add(1, std::memory_order_relaxed);
    }
    if (state->observer) {
      GraphCallObservation o;
      o.operation = operation;
      o.http_status = result.http_status;
      o.code = result.status.error_code();
      o.latency = result.latency;
      state->observer(o);
    }
    done(std::move(result));
  };

  const absl::Duration remaining = call.deadline - start;
  if (remaining <= absl::ZeroDuration()) {
    // Nothing is sent: the outcome is known (nothing happened).
    GraphResult result;
    result.status = TransportErrorToGrpcStatus(absl::DeadlineExceededError(
        "deadline passed before the Graph call started"));
    result.error = GraphErrorFromGrpcStatus(result.status);
    finish(std::move(result));
    return;
  }

  http::ClientRequest request;
  request.method = std::move(call.method);
  request.url = Url(call);
  request.timeout = std::min(remaining, call.timeout > absl::ZeroDuration()
                                            ? call.timeout
                                            : options_.default_timeout);
  request.headers.reserve(3);
  if (!call.access_token.empty()) {
    request.headers.emplace_back("Authorization",
                                 absl::StrCat("Bearer ", call.access_token));
  }
  if (call.body_source) {
    request.headers.emplace_back("Content-Type", std::move(call.content_type));
    request.body_source = std::move(call.body_source);
    request.body_source_size = call.body_source_size;
  } else if (!call.body.empty()) {
    request.headers.emplace_back("Content-Type", std::move(call.content_type));
    request.body = std::move(call.body);
  }
  request.body_sink = std::move(call.body_sink);
  request.control = std::move(call.control);
  http_.Send(
      std::move(request),
      [start, token = std::move(call.access_token), finish = std::move(finish)](
          absl::StatusOr<http::ClientResponse> response) mutable {
        GraphResult result;
        result.latency = absl::Now() - start;
        if (!response.ok()) {
          std::string message(response.status().message());
          Redact(token, &message);
          absl::Status status(response.status().code(), message);
          // Keep the "may have been sent" mark (a payload).
          response.status().ForEachPayload(
              [&status](absl::string_view url, const absl::Cord& p) {
                status.SetPayload(url, p);
              });
          result.status = TransportErrorToGrpcStatus(status);
          result.error = GraphErrorFromGrpcStatus(result.status);
          finish(std::move(result));
          return;
        }
        result.http_status = response->status;
        if (response->status >= 200 && response->status < 300) {
          // Every answer is scrubbed, success too: a 2xx body becomes send
          // results and stored idempotent results.
          Redact(token, &response->body);
          result.body = std::move(response->body);
          finish(std::move(result));
          return;
        }
        Redact(token, &response->body);
        v1::GraphError error =
            ParseGraphError(response->status, response->body);
        RedactError(token, &error);
        result.status = ToGrpcStatus(error);
        result.error = std::move(error);
        result.body = std::move(response->body);
        finish(std::move(result));
      });
}

}  // namespace wagate::graph
