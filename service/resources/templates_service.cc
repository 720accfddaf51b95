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
    : graph_(graph),
      accounts_(accounts),
      options_(options),
      owners_(options_.owners != nullptr ? options_.owners
                                         : std::make_shared<TemplateOwners>()) {
}

namespace {

// The precondition of an RPC naming (waba_id, template_id): the template
// must belong to the WABA. Without a waba_id (single account, unrestricted
// caller: the decorator requires it of restricted ones) there is nothing to
// check against.
Precondition OwnedBy(graph::GraphClient& graph,
                     std::shared_ptr<TemplateOwners> owners,
                     std::string waba_id, std::string template_id) {
  return [&graph, owners = std::move(owners), waba_id = std::move(waba_id),
          template_id = std::move(template_id)](
             const graph::GraphCall& call,
             std::function<void(grpc::Status)> done) {
    if (waba_id.empty() || template_id.empty()) {
      done(grpc::Status::OK);
      return;
    }
    owners->Verify(graph, call.access_token, waba_id, template_id,
                   call.deadline, std::move(done));
  };
}

}  // namespace

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
      Json([response, owners = owners_,
            waba_id = request->waba_id()](graph::JsonObject root) {
        for (graph::JsonObject item : root.GetArray("data")) {
          v1::Template* t = response->add_templates();
          *t = ParseTemplate(item);
          owners->Learn(t->id(), waba_id);
        }
        SetPageTokens(root, response);
        return absl::OkStatus();
      }));
}

grpc::ServerUnaryReactor* TemplatesService::GetTemplate(
    grpc::CallbackServerContext* context, const v1::GetTemplateRequest* request,
    v1::GetTemplateResponse* response) {
  return UnaryGraphRpcIf(
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
      OwnedBy(graph_, owners_, request->waba_id(), request->template_id()),
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
      Json([response, owners = owners_,
            waba_id = request->waba_id()](graph::JsonObject root) {
        response->set_id(root.GetString("id"));
        if (response->id().empty()) {
          return absl::InternalError(
              "Graph answered the template creation without an id");
        }
        owners->Learn(response->id(), waba_id);
        response->set_status(root.GetString("status"));
        response->set_category(root.GetString("category"));
        return absl::OkStatus();
      }));
}

grpc::ServerUnaryReactor* TemplatesService::UpdateTemplate(
    grpc::CallbackServerContext* context,
    const v1::UpdateTemplateRequest* request,
    v1::UpdateTemplateResponse* response) {
  return UnaryGraphRpcIf(
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
      OwnedBy(graph_, owners_, request->waba_id(), request->template_id()),
      SuccessInto(response));
}

grpc::ServerUnaryReactor* TemplatesService::DeleteTemplate(
    grpc::CallbackServerContext* context,
    const v1::DeleteTemplateRequest* request,
    v1::DeleteTemplateResponse* response) {
  return UnaryGraphRpcIf(
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
      OwnedBy(graph_, owners_, request->waba_id(), request->template_id()),
      [response, owners = owners_,
       template_id = request->template_id()](const std::string& body) {
        absl::Status s = SuccessInto(response)(body);
        if (s.ok() && response->success()) owners->Forget(template_id);
        return s;
      });
}

}  // namespace wagate::resources
