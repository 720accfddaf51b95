// wagate.v1.Templates over the gRPC callback API: each RPC validates its
// request (validation.h), looks up the WABA's token (unknown accounts are
// refused before any HTTP call), makes one Graph call and answers with the
// typed result or the mapped Graph error. No thread blocks per call.
//
// A template_id given with a waba_id (Get, Update, Delete) must be a
// template of that WABA (TemplateOwners): PERMISSION_DENIED otherwise,
// before anything is read or changed. List and Create answers teach the
// owners what they list or create.
//
//   resources::TemplatesService templates(graph_client, accounts, {});
//   builder.RegisterService(&templates);
#ifndef WAGATE_SERVICE_RESOURCES_TEMPLATES_SERVICE_H_
#define WAGATE_SERVICE_RESOURCES_TEMPLATES_SERVICE_H_

#include <memory>

#include "grpcpp/grpcpp.h"
#include "service/config/accounts.h"
#include "service/graph/graph_client.h"
#include "service/resources/template_owners.h"
#include "wagate/v1/templates.grpc.pb.h"

namespace wagate::resources {

class TemplatesService final : public wagate::v1::Templates::CallbackService {
 public:
  struct Options {
    // Shared with the gateway, which also feeds it template webhooks. Null:
    // the service keeps its own.
    std::shared_ptr<TemplateOwners> owners;
  };

  // `graph` and `accounts` must outlive the service.
  TemplatesService(graph::GraphClient& graph, const config::Accounts& accounts,
                   Options options);

  grpc::ServerUnaryReactor* ListTemplates(
      grpc::CallbackServerContext* context,
      const v1::ListTemplatesRequest* request,
      v1::ListTemplatesResponse* response) override;
  grpc::ServerUnaryReactor* GetTemplate(
      grpc::CallbackServerContext* context,
      const v1::GetTemplateRequest* request,
      v1::GetTemplateResponse* response) override;
  grpc::ServerUnaryReactor* CreateTemplate(
      grpc::CallbackServerContext* context,
      const v1::CreateTemplateRequest* request,
      v1::CreateTemplateResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTemplate(
      grpc::CallbackServerContext* context,
      const v1::UpdateTemplateRequest* request,
      v1::UpdateTemplateResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTemplate(
      grpc::CallbackServerContext* context,
      const v1::DeleteTemplateRequest* request,
      v1::DeleteTemplateResponse* response) override;

 private:
  graph::GraphClient& graph_;
  const config::Accounts& accounts_;
  const Options options_;
  const std::shared_ptr<TemplateOwners> owners_;
};

}  // namespace wagate::resources

#endif  // WAGATE_SERVICE_RESOURCES_TEMPLATES_SERVICE_H_
