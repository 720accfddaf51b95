// The emulator's control API under /_emulator/ (documented in README.md):
// inject inbound messages and events, set faults, read counters, reset.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "service/common/json_writer.h"
#include "simdjson.h"

namespace wagate::emulator {
namespace {

http::Response ControlError(int status, absl::string_view message) {
  common::JsonWriter w(128);
  w.BeginObject().Key("error").BeginObject().Field("message", message);
  w.EndObject().EndObject();
  return http::JsonResponse(status, std::move(w).Release());
}

std::string GetString(simdjson::dom::object obj, const char* key,
                      std::string fallback = "") {
  std::string_view sv;
  if (obj[key].get(sv) == simdjson::SUCCESS) return std::string(sv);
  return fallback;
}

double GetDouble(simdjson::dom::object obj, const char* key, double fallback) {
  double d;
  if (obj[key].get(d) == simdjson::SUCCESS) return d;
  return fallback;
}

// The members of `obj` serialized without the enclosing braces.
std::string Members(simdjson::dom::object obj) {
  std::string out;
  for (auto field : obj) {
    if (!out.empty()) out.push_back(',');
    common::AppendJsonString(std::string(field.key), &out);
    out.push_back(':');
    out += simdjson::minify(field.value);
  }
  return out;
}

}  // namespace

http::Response Emulator::Control(const http::Request& request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  bool has_body = false;
  if (!request.body.empty()) {
    if (parser.parse(request.body.data(), request.body.size()).get(body) !=
        simdjson::SUCCESS) {
      return ControlError(400, "body must be a JSON object");
    }
    has_body = true;
  }
  auto need_body = [&]() { return has_body; };

  if (path == "/_emulator/counters" && method == "GET") {
    WebhookStats s = sender_->stats();
    common::JsonWriter w(1024);
    w.BeginObject();
    w.Key("messages").Raw(state_->CountersJson());
    w.Key("webhooks").BeginObject();
    w.Field("changes", s.changes);
    w.Field("posted", s.posted);
    w.Field("acknowledged", s.acknowledged);
    w.Field("retried", s.retried);
    w.Field("dropped", s.dropped);
    w.Field("duplicated", s.duplicated);
    w.Field("pending", s.pending);
    w.EndObject().EndObject();
    return http::JsonResponse(200, std::move(w).Release());
  }
  if (path == "/_emulator/reset" && method == "POST") {
    state_->Reset();
    sender_->ResetStats();
    sender_->set_duplicate_rate(0);
    return http::JsonResponse(200, R"({"success":true})");
  }
  if (path == "/_emulator/faults") {
    if (method == "POST") {
      if (!need_body()) return ControlError(400, "JSON body required");
      Faults f;
      simdjson::dom::object rates;
      if (body["error_rates"].get(rates) == simdjson::SUCCESS) {
        for (auto field : rates) {
          int code;
          double rate;
          if (!absl::SimpleAtoi(std::string(field.key), &code) ||
              field.value.get(rate) != simdjson::SUCCESS) {
            return ControlError(
                400, "error_rates: {\"<code>\": <probability>, ...}");
          }
          f.error_rates[code] = rate;
        }
      }
      f.http_5xx_rate = GetDouble(body, "http_5xx_rate", 0);
      f.drop_connection_rate = GetDouble(body, "drop_connection_rate", 0);
      f.added_latency =
          absl::Milliseconds(GetDouble(body, "added_latency_ms", 0));
      f.webhook_duplicate_rate = GetDouble(body, "webhook_duplicate_rate", 0);
      f.webhook_out_of_order_rate =
          GetDouble(body, "webhook_out_of_order_rate", 0);
      state_->SetFaults(f);
      sender_->set_duplicate_rate(f.webhook_duplicate_rate);
      return http::JsonResponse(200, R"({"success":true})");
    }
    if (method == "GET") {
      Faults f = state_->faults();
      common::JsonWriter w(256);
      w.BeginObject().Key("error_rates").BeginObject();
      for (const auto& [code, rate] : f.error_rates) {
        w.Field(absl::StrCat(code), rate);
      }
      w.EndObject();
      w.Field("http_5xx_rate", f.http_5xx_rate);
      w.Field("drop_connection_rate", f.drop_connection_rate);
      w.Field("added_latency_ms", absl::ToDoubleMilliseconds(f.added_latency));
      w.Field("webhook_duplicate_rate", f.webhook_duplicate_rate);
      w.Field("webhook_out_of_order_rate", f.webhook_out_of_order_rate);
      w.EndObject();
      return http::JsonResponse(200, std::move(w).Release());
    }
  }
  if (path == "/_emulator/settings" && method == "POST") {
    if (!need_body()) return ControlError(400, "JSON body required");
    bool on;
    if (body["enforce_window"].get(on) == simdjson::SUCCESS) {
      state_->SetEnforceWindow(on);
    }
    return http::JsonResponse(200, R"({"success":true})");
  }
  if (path == "/_emulator/inbound" && method == "POST") {
    if (!need_body()) return ControlError(400, "JSON body required");
    std::string pnid =
        GetString(body, "phone_number_id", options_.phone_number_ids[0]);
    if (!state_->IsPhoneNumber(pnid)) {
      return ControlError(404, "unknown phone_number_id");
    }
    std::string from = GetString(body, "from");
    if (from.empty()) return ControlError(400, "from is required");
    std::string name = GetString(body, "name", "");
    std::string fields;
    simdjson::dom::object message;
    if (body["message"].get(message) == simdjson::SUCCESS) {
      fields = Members(message);
      if (GetString(message, "type").empty()) {
        return ControlError(400, "message.type is required");
      }
    } else if (std::string text = GetString(body, "text"); !text.empty()) {
      common::JsonWriter w(64 + text.size());
      w.BeginObject().Field("type", "text").Key("text").BeginObject();
      w.Field("body", text).EndObject().EndObject();
      std::string obj = std::move(w).Release();
      fields = obj.substr(1, obj.size() - 2);
    } else {
      return ControlError(400, "message (object) or text is required");
    }
    std::string wamid = GetString(body, "id");
    if (wamid.empty()) wamid = state_->NewWamid(from);
    absl::Time now = absl::Now();
    NumberMetadata meta{state_->DisplayPhoneNumber(pnid), pnid};
    state_->RecordInbound(pnid, from, now);
    Emit(InboundMessageChange(meta, from, name, wamid, now, fields));
    common::JsonWriter w(128);
    w.BeginObject().Field("id", wamid).EndObject();
    return http::JsonResponse(200, std::move(w).Release());
  }
  if (path == "/_emulator/events" && method == "POST") {
    // Any change, verbatim: {"field": "...", "value": {...}}.
    if (!need_body()) return ControlError(400, "JSON body required");
    std::string field = GetString(body, "field");
    simdjson::dom::element value;
    if (field.empty() || body["value"].get(value) != simdjson::SUCCESS) {
      return ControlError(400, "field and value are required");
    }
    Emit(Change{field, simdjson::minify(value)});
    return http::JsonResponse(200, R"({"success":true})");
  }
  if (path == "/_emulator/template_status" && method == "POST") {
    if (!need_body()) return ControlError(400, "JSON body required");
    std::string name = GetString(body, "name");
    std::string language = GetString(body, "language", "en_US");
    std::string event = GetString(body, "event");
    Template t;
    if (!state_->FindTemplate(name, language, &t)) {
      return ControlError(404, "unknown template");
    }
    if (event.empty()) return ControlError(400, "event is required");
    // Events that are statuses change the template, as Meta's would.
    if (event == "APPROVED" || event == "REJECTED" || event == "PAUSED" ||
        event == "DISABLED" || event == "PENDING" || event == "FLAGGED") {
      state_->UpdateTemplate(t.id, [&](Template& tt) {
        tt.status = event == "FLAGGED" ? tt.status : event;
      });
    } else if (event == "REINSTATED") {
      state_->UpdateTemplate(t.id,
                             [](Template& tt) { tt.status = "APPROVED"; });
    }
    Emit(TemplateStatusChange(event, t.id, t.name, t.language, t.category,
                              GetString(body, "reason", "NONE")));
    return http::JsonResponse(200, R"({"success":true})");
  }
  if (path == "/_emulator/phone_number_quality" && method == "POST") {
    if (!need_body()) return ControlError(400, "JSON body required");
    std::string pnid =
        GetString(body, "phone_number_id", options_.phone_number_ids[0]);
    if (!state_->IsPhoneNumber(pnid)) {
      return ControlError(404, "unknown phone_number_id");
    }
    std::string event = GetString(body, "event", "THROUGHPUT_UPGRADE");
    std::string limit = GetString(body, "current_limit", "TIER_UNLIMITED");
    if (event == "THROUGHPUT_UPGRADE") {
      state_->SetThroughput(pnid, GetDouble(body, "throughput_mps", 1000),
                            "HIGH");
    }
    common::JsonWriter w(256);
    w.BeginObject();
    w.Field("display_phone_number", state_->DisplayPhoneNumber(pnid));
    w.Field("event", event);
    w.Field("current_limit", limit);
    w.Field("max_daily_conversations_per_business", limit);
    w.EndObject();
    Emit(Change{"phone_number_quality_update", std::move(w).Release()});
    return http::JsonResponse(200, R"({"success":true})");
  }
  return ControlError(404, "unknown control route");
}

}  // namespace wagate::emulator
