#include "service/metrics/grpc_interceptor.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "service/metrics/gateway_metrics.h"

namespace wagate::metrics {
namespace {

// Answers "/test.Echo/Ok" with OK, ".../Bad" with INVALID_ARGUMENT and never
// answers ".../Hang" until the client gives up.
class TestService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const std::string& method) : method_(method) {
        StartRead(&request_);
      }
      void OnReadDone(bool ok) override {
        if (!ok || method_ == "/test.Echo/Hang") return;
        if (method_ == "/test.Echo/Bad") {
          Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad"));
          return;
        }
        response_ = request_;
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnCancel() override {
        if (method_ == "/test.Echo/Hang") {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "gone"));
        }
      }
      void OnDone() override { delete this; }

     private:
      const std::string method_;
      grpc::ByteBuffer request_;
      grpc::ByteBuffer response_;
    };
    return new Reactor(ctx->method());
  }
};

class GrpcInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    family_ = registry_.AddCounterFamily("wagate_grpc_requests_total", "x",
                                         {"service", "method", "code"});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterCallbackGenericService(&service_);
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    // Every path reaches the generic service; only these count as served.
    creators.push_back(MakeGrpcMetricsInterceptorFactory(
        family_,
        std::make_shared<const KnownGrpcMethods>(std::vector<std::string>{
            "/test.Echo/Ok", "/test.Echo/Bad", "/test.Echo/Hang"})));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = std::make_unique<grpc::GenericStub>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    stub_.reset();
    server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status Call(const std::string& method, absl::Duration timeout) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     absl::ToChronoMilliseconds(timeout));
    grpc::Slice slice(std::string("hello"));
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub_->UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                     [&done](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  }

  // The interceptor counts when the server side of the call ends, which may
  // be just after the client has its answer.
  uint64_t WaitForCount(absl::string_view method, absl::string_view code,
                        uint64_t want) {
    Counter* c = family_->Get({"test.Echo", method, code});
    absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (c->Value() < want && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return c->Value();
  }

  Registry registry_;
  CounterFamily* family_ = nullptr;
  TestService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(GrpcInterceptorTest, CountsByServiceMethodAndCode) {
  EXPECT_TRUE(Call("/test.Echo/Ok", absl::Seconds(10)).ok());
  EXPECT_TRUE(Call("/test.Echo/Ok", absl::Seconds(10)).ok());
  EXPECT_EQ(Call("/test.Echo/Bad", absl::Seconds(10)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(WaitForCount("Ok", "OK", 2), 2u);
  EXPECT_EQ(WaitForCount("Bad", "INVALID_ARGUMENT", 1), 1u);
  EXPECT_EQ(family_->Get({"test.Echo", "Bad", "OK"})->Value(), 0u);
  EXPECT_THAT(registry_.Render(),
              ::testing::HasSubstr("wagate_grpc_requests_total{service=\"test."
                                   "Echo\",method=\"Ok\",code=\"OK\"} 2\n"));
}

TEST_F(GrpcInterceptorTest, CallTheClientAbandonsIsCountedCancelled) {
  EXPECT_EQ(Call("/test.Echo/Hang", absl::Milliseconds(200)).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(WaitForCount("Hang", "CANCELLED", 1), 1u);
}

TEST_F(GrpcInterceptorTest, UnregisteredMethodsAreCountedAsUnknown) {
  EXPECT_TRUE(Call("/test.Echo/Ok", absl::Seconds(10)).ok());
  for (const char* method :
       {"/test.Echo/RandomQx7", "/other.Svc/AlsoQx7", "/Qx7"}) {
    EXPECT_TRUE(Call(method, absl::Seconds(10)).ok()) << method;
  }
  Counter* unknown = family_->Get({"unknown", "unknown", "OK"});
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (unknown->Value() < 3 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(unknown->Value(), 3u);
  EXPECT_EQ(WaitForCount("Ok", "OK", 1), 1u);  // registered: as before
  const std::string rendered = registry_.Render();
  EXPECT_THAT(rendered, ::testing::Not(::testing::HasSubstr("Qx7")));
  EXPECT_THAT(rendered, ::testing::HasSubstr(
                            "wagate_grpc_requests_total{service=\"unknown"
                            "\",method=\"unknown\",code=\"OK\"} 3\n"));
}

TEST(KnownGrpcMethodsTest, LabelsKnownMethodsOnly) {
  KnownGrpcMethods known({"/wagate.v1.Messaging/Send"});
  EXPECT_TRUE(known.Contains("/wagate.v1.Messaging/Send"));
  EXPECT_FALSE(known.Contains("/wagate.v1.Messaging/Sendx"));
  EXPECT_EQ(known.Labels("/wagate.v1.Messaging/Send"),
            std::make_pair(absl::string_view("wagate.v1.Messaging"),
                           absl::string_view("Send")));
  EXPECT_EQ(known.Labels("/wagate.v1.Messaging/Other"),
            std::make_pair(absl::string_view("unknown"),
                           absl::string_view("unknown")));
}

TEST(KnownGrpcMethodsTest, FromServicesNamesAMissingService) {
  auto known = KnownGrpcMethods::FromServices({"no.such.Service"});
  EXPECT_EQ(known.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(known.status().message()),
              ::testing::HasSubstr("no.such.Service"));
  auto extra = KnownGrpcMethods::FromServices({}, {"/a.B/C"});
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE((*extra)->Contains("/a.B/C"));
}

TEST(SplitGrpcMethodTest, Splits) {
  EXPECT_EQ(SplitGrpcMethod("/wagate.v1.Messaging/Send"),
            std::make_pair(absl::string_view("wagate.v1.Messaging"),
                           absl::string_view("Send")));
  EXPECT_EQ(SplitGrpcMethod("odd"),
            std::make_pair(absl::string_view(""), absl::string_view("odd")));
  EXPECT_EQ(SplitGrpcMethod("/x"),
            std::make_pair(absl::string_view(""), absl::string_view("/x")));
}

}  // namespace
}  // namespace wagate::metrics
