// The Graph half of the send path: SendRequest → JSON, and the answer →
// SendResponse. Run by hand:
// build/<dir>/service/graph/graph_send_path_benchmark
#include <string>

#include "benchmark/benchmark.h"
#include "service/common/json_writer.h"
#include "service/graph/graph_response.h"
#include "service/graph/send_request_json.h"

namespace wagate::graph {
namespace {

v1::SendRequest TextRequest() {
  v1::SendRequest r;
  r.set_phone_number_id("106540352242922");
  r.set_to("+16505551234");
  r.set_biz_opaque_callback_data("campaign-42");
  r.mutable_text()->set_body(
      "Your order #12345 has shipped and will arrive tomorrow.");
  return r;
}

v1::SendRequest TemplateRequest() {
  v1::SendRequest r;
  r.set_phone_number_id("106540352242922");
  r.set_to("+16505551234");
  auto* t = r.mutable_template_();
  t->set_name("order_confirmation");
  t->mutable_language()->set_code("en_US");
  auto* header = t->add_components();
  header->set_type(v1::TemplateComponent::TYPE_HEADER);
  header->add_parameters()->mutable_image()->set_id("2871834006348767");
  auto* body = t->add_components();
  body->set_type(v1::TemplateComponent::TYPE_BODY);
  body->add_parameters()->set_text("Pablo");
  auto* cur = body->add_parameters()->mutable_currency();
  cur->set_fallback_value("$100.99");
  cur->set_code("USD");
  cur->set_amount_1000(100990);
  auto* button = t->add_components();
  button->set_type(v1::TemplateComponent::TYPE_BUTTON);
  button->set_sub_type(v1::TemplateComponent::SUB_TYPE_URL);
  button->set_index(1);
  button->add_parameters()->set_text("n3mtql");
  return r;
}

void BM_BuildSendJson_Text(benchmark::State& state) {
  const v1::SendRequest r = TextRequest();
  for (auto _ : state) benchmark::DoNotOptimize(BuildSendJson(r));
}
BENCHMARK(BM_BuildSendJson_Text);

void BM_WriteSendJson_Text_ReusedWriter(benchmark::State& state) {
  const v1::SendRequest r = TextRequest();
  common::JsonWriter w(512);
  for (auto _ : state) {
    w.Clear();
    benchmark::DoNotOptimize(WriteSendJson(r, &w));
  }
}
BENCHMARK(BM_WriteSendJson_Text_ReusedWriter);

void BM_BuildSendJson_Template(benchmark::State& state) {
  const v1::SendRequest r = TemplateRequest();
  for (auto _ : state) benchmark::DoNotOptimize(BuildSendJson(r));
}
BENCHMARK(BM_BuildSendJson_Template);

void BM_ParseSendResponse(benchmark::State& state) {
  const std::string body =
      R"({"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],)"
      R"("messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA","message_status":"accepted"}]})";
  for (auto _ : state) benchmark::DoNotOptimize(ParseSendResponse(body));
}
BENCHMARK(BM_ParseSendResponse);

}  // namespace
}  // namespace wagate::graph

BENCHMARK_MAIN();
