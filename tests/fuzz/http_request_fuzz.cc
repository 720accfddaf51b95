// Fuzz harness for the HTTP request path of http::Server (service/http/
// server.cc): raw bytes from a socket through Beast's request_parser with
// the server's limits, pipelined requests on one connection, then the
// target split by the server's own ParseTarget (service/http/target.h) into
// a percent-decoded path and query parameters, and the lookups the webhook
// ingress makes (QueryParam, Header).
//
// A real Server fed over a socket is far too slow for a fuzzer, so this
// harness mirrors Connection's reading: read_header with header_limit and
// no body limit, the declared Content-Length checked against max_body_bytes,
// then read with body_limit, as Connection::ReadHeader/OnHeader/Admit do.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/error.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/system/system_error.hpp"
#include "service/http/message.h"
#include "service/http/server.h"
#include "service/http/target.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using wagate::http::PercentDecode;
using wagate::http::Request;
using wagate::http::ServerOptions;

void Check(bool ok) {
  if (!ok) std::abort();  // a broken promise is a finding, like a crash
}

// A SyncReadStream over the fuzz input that hands out at most `chunk` bytes
// per read, like a peer whose bytes arrive in pieces; eof at the end.
class InputStream {
 public:
  InputStream(absl::string_view input, size_t chunk)
      : input_(input), chunk_(chunk) {}

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers,
                   beast::error_code& ec) {
    if (input_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    ec = {};
    const size_t n = net::buffer_copy(
        buffers, net::buffer(input_.data(), std::min(chunk_, input_.size())));
    input_.remove_prefix(n);
    return n;
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  absl::string_view input_;
  size_t chunk_;
};

// The status Connection::OnReadError answers for a read error (0: close).
int ErrorStatus(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) return 413;
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return 431;
  }
  if (ec.category() ==
          bhttp::make_error_code(bhttp::error::bad_method).category() &&
      ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message && ec != bhttp::error::short_read) {
    return 400;
  }
  return 0;
}

// What Connection::Dispatch and the webhook ingress do with a request.
void Use(bhttp::request<bhttp::string_body>& message) {
  (void)message.keep_alive();
  (void)message.version();
  const auto expect = message[bhttp::field::expect];
  (void)absl::EqualsIgnoreCase(absl::string_view(expect.data(), expect.size()),
                               "100-continue");
  Request request;
  request.method.assign(message.method_string().data(),
                        message.method_string().size());
  request.target.assign(message.target().data(), message.target().size());
  wagate::http::ParseTarget(request.target, &request);
  for (const auto& field : message) {
    request.headers.emplace_back(
        std::string(field.name_string().data(), field.name_string().size()),
        std::string(field.value().data(), field.value().size()));
  }
  request.body = std::move(message.body());
  (void)request.QueryParam("hub.mode");
  (void)request.QueryParam("hub.verify_token");
  (void)request.QueryParam("hub.challenge");
  (void)request.Header("X-Hub-Signature-256");
  (void)request.Header("content-type");
  // Decoding never grows the text; encoding what was decoded and decoding
  // it again gives it back.
  Check(request.path.size() <= request.target.size());
  Check(PercentDecode(wagate::http::PercentEncode(request.path), false) ==
        request.path);
}

// One connection: requests read one after another from the same buffer
// while the peer keeps the connection alive, as Connection does.
void ReadConnection(absl::string_view input, size_t chunk,
                    const ServerOptions& options) {
  InputStream stream(input, chunk);
  beast::flat_buffer buffer;
  for (int i = 0; i < 64; ++i) {
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
    parser->body_limit(boost::none);
    beast::error_code ec;
    bhttp::read_header(stream, buffer, *parser, ec);
    if (!ec) {
      // Refused from the header: answered, and the connection closes.
      const auto length = parser->content_length();
      if (length.has_value() && *length > options.max_body_bytes) return;
      parser->body_limit(options.max_body_bytes);
    }
    if (!ec && !parser->is_done()) bhttp::read(stream, buffer, *parser, ec);
    if (ec) {
      (void)ErrorStatus(ec);
      return;  // the server answers (or closes) and ends the connection
    }
    auto& message = parser->get();
    const bool keep_alive = message.keep_alive();
    Use(message);
    if (!keep_alive) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  // The server's defaults, all bytes at once.
  ReadConnection(input, 16 << 10, ServerOptions{});
  // Tight limits (as a config's limits section may set) so the 413/431
  // paths are reached by small inputs, and bytes trickling in small pieces
  // so the parser's resumption at every split is exercised.
  ServerOptions tight;
  tight.max_header_bytes = 256;
  tight.max_body_bytes = 512;
  ReadConnection(input, 1 + size % 13, tight);

  // The decoders on the raw bytes, whatever they are.
  Check(PercentDecode(input, true).size() <= input.size());
  Check(PercentDecode(wagate::http::PercentEncode(input), false) == input);
  return 0;
}
