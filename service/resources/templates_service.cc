#include "service/resources/templates_service.h"

#include <string>
#include <utility>

#include "service/graph/graph_response.h"
#include "service/resources/graph_call.h"
#include "service/resources/graph_json.h"
#include "service/resources/validation.h"

namespace wagate::resources {

TemplatesService::TemplatesService(graph::GraphClient& graph,
                                   const config::Accounts& accounts,
                                   Options options)
    : graph_(graph), accounts_(accounts), options_(options) {}

grpc::ServerUnaryReactor* TemplatesService::ListTemplates(
    grpc::CallbackServerContext* context,
    const v1::ListTemplatesRequest* request,
    v1::ListTemplatesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = ValidateListTemplates(*request);
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "GET";
  call.path = "/" + request->waba_id() + "/message_templates";
  call.query.emplace_back("fields", kTemplateFields);
  if (!request->name().empty())
    call.query.emplace_back("name", request->name());
  if (!request->status().empty()) {
    call.query.emplace_back("status", request->status());
  }
  if (request->category() != v1::TEMPLATE_CATEGORY_UNSPECIFIED) {
    call.query.emplace_back("category",
                            std::string(CategoryName(request->category())));
  }
  if (!request->language().empty()) {
    call.query.emplace_back("language", request->language());
  }
  AddPaging(request->page_size(), request->page_token(), &call.query);
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "list_templates";
  CallAndFinish(graph_, std::move(call), reactor,
                [response](const std::string& body) {
                  graph::JsonDocument doc;
                  absl::Status s = doc.Parse(body);
                  if (!s.ok()) return s;
                  for (graph::JsonObject t : doc.root().GetArray("data")) {
                    *response->add_templates() = ParseTemplate(t);
                  }
                  response->set_next_page_token(NextPageToken(doc.root()));
                  return absl::OkStatus();
                });
  return reactor;
}

grpc::ServerUnaryReactor* TemplatesService::GetTemplate(
    grpc::CallbackServerContext* context, const v1::GetTemplateRequest* request,
    v1::GetTemplateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = RequireId(request->template_id(), "template_id");
  if (valid.ok() && !request->waba_id().empty()) {
    valid = RequireId(request->waba_id(), "waba_id");
  }
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "GET";
  call.path = "/" + request->template_id();
  call.query.emplace_back("fields", kTemplateFields);
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "get_template";
  CallAndFinish(graph_, std::move(call), reactor,
                [response](const std::string& body) {
                  graph::JsonDocument doc;
                  absl::Status s = doc.Parse(body);
                  if (!s.ok()) return s;
                  *response->mutable_template_() = ParseTemplate(doc.root());
                  return absl::OkStatus();
                });
  return reactor;
}

grpc::ServerUnaryReactor* TemplatesService::CreateTemplate(
    grpc::CallbackServerContext* context,
    const v1::CreateTemplateRequest* request,
    v1::CreateTemplateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = ValidateCreateTemplate(*request);
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "POST";
  call.path = "/" + request->waba_id() + "/message_templates";
  call.body = CreateTemplateJson(*request);
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "create_template";
  CallAndFinish(graph_, std::move(call), reactor,
                [response](const std::string& body) {
                  graph::JsonDocument doc;
                  absl::Status s = doc.Parse(body);
                  if (!s.ok()) return s;
                  graph::JsonObject root = doc.root();
                  response->set_id(root.GetString("id"));
                  if (response->id().empty()) {
                    return absl::InternalError(
                        "Graph answered the template creation without an id");
                  }
                  response->set_status(root.GetString("status"));
                  response->set_category(root.GetString("category"));
                  return absl::OkStatus();
                });
  return reactor;
}

grpc::ServerUnaryReactor* TemplatesService::UpdateTemplate(
    grpc::CallbackServerContext* context,
    const v1::UpdateTemplateRequest* request,
    v1::UpdateTemplateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = ValidateUpdateTemplate(*request);
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "POST";
  call.path = "/" + request->template_id();
  call.body = UpdateTemplateJson(*request);
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "update_template";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

grpc::ServerUnaryReactor* TemplatesService::DeleteTemplate(
    grpc::CallbackServerContext* context,
    const v1::DeleteTemplateRequest* request,
    v1::DeleteTemplateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = ValidateDeleteTemplate(*request);
  absl::StatusOr<std::string> token =
      valid.ok() ? WabaToken(accounts_, request->waba_id()) : valid;
  if (!token.ok()) {
    reactor->Finish(LocalError(token.status()));
    return reactor;
  }
  graph::GraphCall call;
  call.method = "DELETE";
  call.path = "/" + request->waba_id() + "/message_templates";
  call.query.emplace_back("name", request->name());
  if (!request->template_id().empty()) {
    call.query.emplace_back("hsm_id", request->template_id());
  }
  call.access_token = *std::move(token);
  call.deadline = DeadlineOf(*context);
  call.operation = "delete_template";
  CallAndFinish(graph_, std::move(call), reactor, SuccessInto(response));
  return reactor;
}

}  // namespace wagate::resources
