// The emulated Graph API endpoints (CLOUD_API.md §1.1) as a function from a
// request to Meta's answer: authentication, routing by object id and edge,
// validation, state changes. Synchronous and socket-free; the Emulator adds
// latency, faults and the HTTP server around it.
//
//   GraphApi api(&state, hooks);
//   std::vector<Accepted> accepted;
//   http::Response r = api.Handle(request, &accepted);
//   // then start the status webhooks of `accepted`
#ifndef WAGATE_EMULATOR_GRAPH_API_H_
#define WAGATE_EMULATOR_GRAPH_API_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "emulator/state.h"
#include "emulator/webhook_payloads.h"
#include "service/http/message.h"

namespace wagate::emulator {

class GraphApi {
 public:
  struct Hooks {
    // "http://127.0.0.1:PORT": media URLs and paging links point here.
    std::function<std::string()> base_url;
    // Runs `fn` after `delay` (template approval).
    std::function<void(absl::Duration delay, std::function<void()> fn)> after;
    // Sends a webhook change (template status updates).
    std::function<void(Change)> emit;
  };

  GraphApi(State* state, Hooks hooks);

  // Answers one Graph API request; messages accepted by it are appended to
  // `accepted` for the caller to simulate their delivery.
  http::Response Handle(const http::Request& request,
                        std::vector<Accepted>* accepted);

  // An error answer with a fresh fbtrace_id.
  http::Response Error(const GraphError& error);

 private:
  http::Response SendMessage(const std::string& pnid,
                             const http::Request& request,
                             std::vector<Accepted>* accepted);
  http::Response GetPhoneNumber(const std::string& pnid,
                                const http::Request& request);
  http::Response ListPhoneNumbers(const http::Request& request);
  http::Response PhoneNumberAction(const std::string& pnid,
                                   const std::string& action,
                                   const http::Request& request);
  http::Response ListTemplates(const http::Request& request);
  http::Response CreateTemplate(const http::Request& request);
  http::Response GetTemplate(const Template& t, const http::Request& request);
  http::Response EditTemplate(Template t, const http::Request& request);
  http::Response DeleteTemplates(const http::Request& request);
  // Media, business profile, block list, subscribed apps
  // (graph_resources.cc).
  http::Response UploadMedia(const std::string& pnid,
                             const http::Request& request);
  http::Response GetMedia(const Media& media, const http::Request& request);
  http::Response DeleteMedia(const Media& media, const http::Request& request);
  http::Response DownloadMedia(const http::Request& request);
  http::Response GetProfile(const std::string& pnid,
                            const http::Request& request);
  http::Response UpdateProfile(const std::string& pnid,
                               const http::Request& request);
  http::Response BlockUsers(const std::string& pnid,
                            const http::Request& request, bool block);
  http::Response ListBlocked(const std::string& pnid,
                             const http::Request& request);
  http::Response SubscribedApps(const http::Request& request);
  http::Response UnknownObject(const std::string& id);
  void ApproveLater(const std::string& template_id);

  State* state_;
  Hooks hooks_;
};

// Graph paging over `items` (serialized JSON objects): honours limit (default
// 25), after and before cursors; writes {"data":[...],"paging":{...}}.
std::string PagedJson(const std::vector<std::string>& items,
                      const http::Request& request,
                      const std::string& base_url);

}  // namespace wagate::emulator

#endif  // WAGATE_EMULATOR_GRAPH_API_H_
