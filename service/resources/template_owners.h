// Which WABA each message template belongs to, so that an RPC naming
// (waba_id, template_id) acts only on a template of that WABA.
//
// Graph addresses a template by its id alone (`GET /{template_id}`): one
// token that spans two WABAs (always, in single-account mode) reads and
// edits the templates of both. A client scoped to WABA A could thus reach
// WABA B's template by naming A's waba_id with B's template id. Before
// acting, the Templates service asks Verify().
//
// What is known comes from Graph itself: List and Create answers (the WABA
// is in the path), `message_template_*` webhooks (entry.id is the WABA), and
// past verifications. An unknown template is verified with two Graph calls
// (`GET /{template_id}?fields=name`, then the WABA's templates of that name,
// looking for the id) and remembered. Template ids are never reused by
// another WABA, so what is remembered stays true until the template is
// deleted.
//
//   auto owners = std::make_shared<TemplateOwners>();
//   owners->Verify(graph, token, waba_id, template_id, deadline,
//                 [](grpc::Status s) { if (s.ok()) ... act ... });
//
// Thread-safe. Create it in a shared_ptr: a verification in flight holds
// a reference.
#ifndef WAGATE_SERVICE_RESOURCES_TEMPLATE_OWNERS_H_
#define WAGATE_SERVICE_RESOURCES_TEMPLATE_OWNERS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "grpcpp/support/status.h"
#include "service/graph/graph_client.h"
#include "wagate/v1/events.pb.h"

namespace wagate::resources {

class TemplateOwners : public std::enable_shared_from_this<TemplateOwners> {
 public:
  // Remembers at most `max_entries` templates; the oldest learned are
  // forgotten first (and verified again with Graph when next named).
  explicit TemplateOwners(size_t max_entries = 100000);

  void Learn(absl::string_view template_id, absl::string_view waba_id);
  void Forget(absl::string_view template_id);
  // The WABA of `template_id`, if known.
  absl::optional<std::string> WabaOf(absl::string_view template_id) const;
  // Learns from a stored webhook event: a template status, quality,
  // category or components update names its template and WABA.
  void LearnFromEvent(const v1::Event& event);

  // OK when `template_id` belongs to `waba_id`; PERMISSION_DENIED naming
  // both when it belongs to another WABA or Graph cannot show it belongs
  // to this one; Graph's mapped status when Graph could not be asked
  // (transport failure, 5xx, rate limit: retry later). Calls Graph (with
  // `access_token`, within `deadline`) only when the template is unknown.
  // `done` runs once, inline or on an io thread.
  void Verify(graph::GraphClient& graph, std::string access_token,
              std::string waba_id, std::string template_id, absl::Time deadline,
              std::function<void(grpc::Status)> done);

  size_t size() const;

 private:
  struct Lookup;
  static grpc::Status NotOwned(absl::string_view waba_id,
                               absl::string_view template_id);

  const size_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> waba_of_ ABSL_GUARDED_BY(mu_);
  // Learning order, for forgetting the oldest; may hold forgotten ids.
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_TEMPLATE_OWNERS_H_
