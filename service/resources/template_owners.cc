#include "service/resources/template_owners.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/graph/graph_response.h"
#include "service/resources/graph_call.h"
#include "service/resources/graph_json.h"

namespace wagate::resources {
namespace {

// The WABA's templates of one name are a handful (one per language); pages
// beyond this many are not followed.
constexpr int kMaxListPages = 10;
constexpr char kListPageSize[] = "100";

// Failures that say nothing about ownership: Graph could not be asked.
bool IsTransient(const graph::GraphResult& result) {
  const grpc::StatusCode code = result.status.error_code();
  return result.http_status == 0 || result.http_status >= 500 ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

// One verification in progress: the template's name, then the WABA's
// templates of that name, page by page.
struct TemplateOwners::Lookup {
  std::shared_ptr<TemplateOwners> owners;
  graph::GraphClient* graph;
  std::string token;
  std::string waba_id;
  std::string template_id;
  absl::Time deadline;
  std::function<void(grpc::Status)> done;
  std::string name;
  int pages = 0;

  static void GetName(std::shared_ptr<Lookup> self) {
    graph::GraphCall call =
        NewCall("GET", "/" + self->template_id, "verify_template", self->token);
    call.query.emplace_back("fields", "id,name");
    call.deadline = self->deadline;
    Lookup* lookup = self.get();
    lookup->graph->Call(std::move(call),
                        [self = std::move(self)](graph::GraphResult result) {
                          if (!result.ok()) return self->Fail(result);
                          graph::JsonDocument doc;
                          if (doc.Parse(result.body).ok()) {
                            self->name = doc.root().GetString("name");
                          }
                          if (self->name.empty()) return self->NotOwned();
                          ListPage(self, "");
                        });
  }

  static void ListPage(std::shared_ptr<Lookup> self, std::string after) {
    graph::GraphCall call =
        NewCall("GET", "/" + self->waba_id + "/message_templates",
                "verify_template", self->token);
    call.query.emplace_back("name", self->name);
    call.query.emplace_back("fields", "id,name");
    call.query.emplace_back("limit", kListPageSize);
    if (!after.empty()) call.query.emplace_back("after", std::move(after));
    call.deadline = self->deadline;
    ++self->pages;
    Lookup* lookup = self.get();
    lookup->graph->Call(
        std::move(call), [self = std::move(self)](graph::GraphResult result) {
          if (!result.ok()) return self->Fail(result);
          graph::JsonDocument doc;
          if (!doc.Parse(result.body).ok()) return self->NotOwned();
          for (graph::JsonObject item : doc.root().GetArray("data")) {
            if (item.GetString("id") == self->template_id) {
              self->owners->Learn(self->template_id, self->waba_id);
              return self->done(grpc::Status::OK);
            }
          }
          std::string next = NextPageToken(doc.root());
          if (next.empty() || self->pages >= kMaxListPages) {
            return self->NotOwned();
          }
          ListPage(self, std::move(next));
        });
  }

  void Fail(const graph::GraphResult& result) {
    if (IsTransient(result)) return done(result.status);
    NotOwned();
  }

  void NotOwned() { done(TemplateOwners::NotOwned(waba_id, template_id)); }
};

TemplateOwners::TemplateOwners(size_t max_entries)
    : max_entries_(std::max<size_t>(1, max_entries)) {}

void TemplateOwners::Learn(absl::string_view template_id,
                           absl::string_view waba_id) {
  if (template_id.empty() || waba_id.empty()) return;
  absl::MutexLock lock(&mu_);
  auto [it, inserted] =
      waba_of_.try_emplace(std::string(template_id), std::string(waba_id));
  if (!inserted) {
    it->second = std::string(waba_id);
    return;
  }
  order_.emplace_back(template_id);
  while (waba_of_.size() > max_entries_ && !order_.empty()) {
    waba_of_.erase(order_.front());
    order_.pop_front();
  }
  // Forgotten ids leave stale entries in order_: keep it bounded too.
  if (order_.size() > 2 * max_entries_) {
    std::deque<std::string> live;
    for (std::string& id : order_) {
      if (waba_of_.contains(id)) live.push_back(std::move(id));
    }
    order_ = std::move(live);
  }
}

void TemplateOwners::Forget(absl::string_view template_id) {
  absl::MutexLock lock(&mu_);
  waba_of_.erase(std::string(template_id));
}

absl::optional<std::string> TemplateOwners::WabaOf(
    absl::string_view template_id) const {
  absl::MutexLock lock(&mu_);
  auto it = waba_of_.find(std::string(template_id));
  if (it == waba_of_.end()) return absl::nullopt;
  return it->second;
}

size_t TemplateOwners::size() const {
  absl::MutexLock lock(&mu_);
  return waba_of_.size();
}

void TemplateOwners::LearnFromEvent(const v1::Event& event) {
  const std::string* id = nullptr;
  switch (event.payload_case()) {
    case v1::Event::kTemplateStatus:
      id = &event.template_status().message_template_id();
      break;
    case v1::Event::kTemplateQuality:
      id = &event.template_quality().message_template_id();
      break;
    case v1::Event::kTemplateCategory:
      id = &event.template_category().message_template_id();
      break;
    case v1::Event::kTemplateComponents:
      id = &event.template_components().message_template_id();
      break;
    default:
      return;
  }
  Learn(*id, event.waba_id());
}

grpc::Status TemplateOwners::NotOwned(absl::string_view waba_id,
                                      absl::string_view template_id) {
  return LocalError(absl::PermissionDeniedError(absl::StrCat(
      "template_id ", template_id, " is not a template of waba_id ", waba_id,
      " (it belongs to another WABA or does not exist)")));
}

void TemplateOwners::Verify(graph::GraphClient& graph, std::string access_token,
                            std::string waba_id, std::string template_id,
                            absl::Time deadline,
                            std::function<void(grpc::Status)> done) {
  if (absl::optional<std::string> owner = WabaOf(template_id)) {
    done(*owner == waba_id ? grpc::Status::OK : NotOwned(waba_id, template_id));
    return;
  }
  auto lookup = std::make_shared<Lookup>();
  lookup->owners = shared_from_this();
  lookup->graph = &graph;
  lookup->token = std::move(access_token);
  lookup->waba_id = std::move(waba_id);
  lookup->template_id = std::move(template_id);
  lookup->deadline = deadline;
  lookup->done = std::move(done);
  Lookup::GetName(std::move(lookup));
}

}  // namespace wagate::resources
