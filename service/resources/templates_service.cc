#include "service/resources/templates_service.h"

#include <string>
#include <utility>

#include "service/common/status_macros.h"
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
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(ValidateListTemplates(*request));
        ASSIGN_OR_RETURN(std::string token,
                         WabaToken(accounts_, request->waba_id()));
        graph::GraphCall call =
            NewCall("GET", "/" + request->waba_id() + "/message_templates",
                    "list_templates", std::move(token));
        call.query.emplace_back("fields", kTemplateFields);
        if (!request->name().empty()) {
          call.query.emplace_back("name", request->name());
        }
        if (!request->status().empty()) {
          call.query.emplace_back("status", request->status());
        }
        if (request->category() != v1::TEMPLATE_CATEGORY_UNSPECIFIED) {
          call.query.emplace_back(
              "category", std::string(CategoryName(request->category())));
        }
        if (!request->language().empty()) {
          call.query.emplace_back("language", request->language());
        }
        AddPaging(request->page_size(), request->page_token(), &call.query);
        return call;
      },
      PageInto(response, response->mutable_templates(), &ParseTemplate));
}

grpc::ServerUnaryReactor* TemplatesService::GetTemplate(
    grpc::CallbackServerContext* context, const v1::GetTemplateRequest* request,
    v1::GetTemplateResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(RequireId(request->template_id(), "template_id"));
        if (!request->waba_id().empty()) {
          RETURN_IF_ERROR(RequireId(request->waba_id(), "waba_id"));
        }
        ASSIGN_OR_RETURN(std::string token,
                         WabaToken(accounts_, request->waba_id()));
        graph::GraphCall call = NewCall("GET", "/" + request->template_id(),
                                        "get_template", std::move(token));
        call.query.emplace_back("fields", kTemplateFields);
        return call;
      },
      Json([response](graph::JsonObject root) {
        *response->mutable_template_() = ParseTemplate(root);
        return absl::OkStatus();
      }));
}

grpc::ServerUnaryReactor* TemplatesService::CreateTemplate(
    grpc::CallbackServerContext* context,
    const v1::CreateTemplateRequest* request,
    v1::CreateTemplateResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(ValidateCreateTemplate(*request));
        ASSIGN_OR_RETURN(std::string token,
                         WabaToken(accounts_, request->waba_id()));
        graph::GraphCall call =
            NewCall("POST", "/" + request->waba_id() + "/message_templates",
                    "create_template", std::move(token));
        call.body = CreateTemplateJson(*request);
        return call;
      },
      Json([response](graph::JsonObject root) {
        response->set_id(root.GetString("id"));
        if (response->id().empty()) {
          return absl::InternalError(
              "Graph answered the template creation without an id");
        }
        response->set_status(root.GetString("status"));
        response->set_category(root.GetString("category"));
        return absl::OkStatus();
      }));
}

grpc::ServerUnaryReactor* TemplatesService::UpdateTemplate(
    grpc::CallbackServerContext* context,
    const v1::UpdateTemplateRequest* request,
    v1::UpdateTemplateResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(ValidateUpdateTemplate(*request));
        ASSIGN_OR_RETURN(std::string token,
                         WabaToken(accounts_, request->waba_id()));
        graph::GraphCall call = NewCall("POST", "/" + request->template_id(),
                                        "update_template", std::move(token));
        call.body = UpdateTemplateJson(*request);
        return call;
      },
      SuccessInto(response));
}

grpc::ServerUnaryReactor* TemplatesService::DeleteTemplate(
    grpc::CallbackServerContext* context,
    const v1::DeleteTemplateRequest* request,
    v1::DeleteTemplateResponse* response) {
  return UnaryGraphRpc(
      graph_, context,
      [&]() -> absl::StatusOr<graph::GraphCall> {
        RETURN_IF_ERROR(ValidateDeleteTemplate(*request));
        ASSIGN_OR_RETURN(std::string token,
                         WabaToken(accounts_, request->waba_id()));
        graph::GraphCall call =
            NewCall("DELETE", "/" + request->waba_id() + "/message_templates",
                    "delete_template", std::move(token));
        call.query.emplace_back("name", request->name());
        if (!request->template_id().empty()) {
          call.query.emplace_back("hsm_id", request->template_id());
        }
        return call;
      },
      SuccessInto(response));
}

}  // namespace wagate::resources
