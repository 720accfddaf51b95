#include "service/messaging/validation.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wagate::messaging {
namespace {

using ::wagate::v1::SendRequest;
using ::wagate::v1::TemplateComponent;

std::string Chars(size_t n, absl::string_view unit = "a") {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.append(unit.data(), unit.size());
  return s;
}

SendRequest Base() {
  SendRequest r;
  r.set_phone_number_id("106540352242922");
  r.set_to("+1 (650) 555-1234");
  return r;
}

SendRequest TextReq(std::string body) {
  SendRequest r = Base();
  r.mutable_text()->set_body(std::move(body));
  return r;
}

SendRequest ButtonsReq(int n) {
  SendRequest r = Base();
  auto* i = r.mutable_interactive();
  i->mutable_body()->set_text("Pick one");
  i->mutable_button();
  for (int k = 0; k < n; ++k) {
    auto* b = i->mutable_button()->add_buttons();
    b->set_id(absl::StrCat("id", k));
    b->set_title(absl::StrCat("Title ", k));
  }
  return r;
}

SendRequest ListReq(int sections, int rows_each) {
  SendRequest r = Base();
  auto* i = r.mutable_interactive();
  i->mutable_body()->set_text("Menu");
  i->mutable_list()->set_button("Open");
  int row = 0;
  for (int s = 0; s < sections; ++s) {
    auto* sec = i->mutable_list()->add_sections();
    sec->set_title(absl::StrCat("Section ", s));
    for (int k = 0; k < rows_each; ++k) {
      auto* rr = sec->add_rows();
      rr->set_id(absl::StrCat("row", row++));
      rr->set_title("Row");
    }
  }
  return r;
}

SendRequest CarouselReq(int cards) {
  SendRequest r = Base();
  auto* i = r.mutable_interactive();
  i->mutable_body()->set_text("Offers");
  for (int c = 0; c < cards; ++c) {
    auto* card = i->mutable_carousel()->add_cards();
    card->set_card_index(c);
    card->mutable_header()->mutable_image()->set_link("https://x.test/a.png");
    card->mutable_body()->set_text("Card");
    card->mutable_cta_url()->set_display_text("Buy");
    card->mutable_cta_url()->set_url("https://x.test/buy");
  }
  return r;
}

SendRequest ProductListReq(int sections, int items_each) {
  SendRequest r = Base();
  auto* i = r.mutable_interactive();
  i->mutable_header()->set_text("Our products");
  i->mutable_body()->set_text("Have a look");
  auto* pl = i->mutable_product_list();
  pl->set_catalog_id("123");
  for (int s = 0; s < sections; ++s) {
    auto* sec = pl->add_sections();
    sec->set_title("S");
    for (int k = 0; k < items_each; ++k) {
      sec->add_product_items()->set_product_retailer_id(
          absl::StrCat("sku", s, "_", k));
    }
  }
  return r;
}

SendRequest TemplateReq() {
  SendRequest r = Base();
  auto* t = r.mutable_template_();
  t->set_name("order_confirmation");
  t->mutable_language()->set_code("en_US");
  return r;
}

SendRequest FlowReq() {
  SendRequest r = Base();
  auto* i = r.mutable_interactive();
  i->mutable_body()->set_text("Start");
  auto* f = i->mutable_flow();
  f->set_flow_message_version("3");
  f->set_flow_id("1234");
  f->set_flow_cta("Book");
  return r;
}

struct Case {
  std::string name;
  SendRequest request;
  std::string error;  // "" = valid; else a substring of the message
};

std::vector<Case> Cases() {
  std::vector<Case> c;
  auto add = [&](std::string name, SendRequest r, std::string error) {
    c.push_back({std::move(name), std::move(r), std::move(error)});
  };
  auto with = [](SendRequest r, std::function<void(SendRequest&)> f) {
    f(r);
    return r;
  };

  // Envelope.
  add("no_phone_number_id",
      with(TextReq("hi"), [](auto& r) { r.clear_phone_number_id(); }),
      "phone_number_id: required");
  add("phone_number_id_not_digits",
      with(TextReq("hi"), [](auto& r) { r.set_phone_number_id("12a"); }),
      "phone_number_id: must be the numeric");
  add("no_to", with(TextReq("hi"), [](auto& r) { r.clear_to(); }),
      "to: required");
  add("to_letters", with(TextReq("hi"), [](auto& r) { r.set_to("1650abc"); }),
      "to: a phone number");
  add("to_wa_id", with(TextReq("hi"), [](auto& r) { r.set_to("16505551234"); }),
      "");
  add("to_group",
      with(TextReq("hi"),
           [](auto& r) {
             r.set_to("120363025246125486@g.us");
             r.set_recipient_type(wagate::v1::RECIPIENT_TYPE_GROUP);
           }),
      "");
  add("no_content", Base(), "content: one of");
  add("biz_opaque_512_bytes",
      with(TextReq("hi"),
           [](auto& r) { r.set_biz_opaque_callback_data(Chars(512)); }),
      "");
  add("biz_opaque_513_bytes",
      with(
          TextReq("hi"),
          [](auto& r) {
            r.set_biz_opaque_callback_data(Chars(171, "é") + "a");  // 343 chars
            r.set_biz_opaque_callback_data(Chars(256, "é") + "a");  // 513 bytes
          }),
      "biz_opaque_callback_data: 513 bytes, the limit is 512");
  add("idempotency_key_257",
      with(TextReq("hi"), [](auto& r) { r.set_idempotency_key(Chars(257)); }),
      "idempotency_key: 257 characters, the limit is 256");

  // Text: counted in characters, not bytes.
  add("text_4096", TextReq(Chars(4096)), "");
  add("text_4096_multibyte", TextReq(Chars(4096, "日")), "");
  add("text_4097", TextReq(Chars(4097)),
      "text.body: 4097 characters, the limit is 4096");
  add("text_4097_emoji", TextReq(Chars(4097, "😀")),
      "text.body: 4097 characters, the limit is 4096");
  add("text_empty", TextReq(""), "text.body: required");
  add("text_bad_utf8", TextReq("\xff\xfe"), "text.body: not valid UTF-8");

  // Media.
  auto image = [&](std::function<void(wagate::v1::Image*)> f) {
    SendRequest r = Base();
    f(r.mutable_image());
    return r;
  };
  add("image_id", image([](auto* m) { m->set_id("2871834006348767"); }), "");
  add("image_no_source", image([](auto* m) { m->set_caption("x"); }),
      "image: exactly one of id or link");
  add("image_http_link", image([](auto* m) { m->set_link("http://a.test/x"); }),
      "image.link: must be an https:// URL");
  add("image_caption_1024", image([](auto* m) {
        m->set_id("1");
        m->set_caption(Chars(1024, "ü"));
      }),
      "");
  add("image_caption_1025", image([](auto* m) {
        m->set_id("1");
        m->set_caption(Chars(1025));
      }),
      "image.caption: 1025 characters, the limit is 1024");
  {
    SendRequest r = Base();
    r.mutable_video()->set_link("https://a.test/v.mp4");
    r.mutable_video()->set_caption(Chars(1025));
    add("video_caption_1025", r, "video.caption: 1025 characters");
  }
  {
    SendRequest r = Base();
    r.mutable_document()->set_id("1");
    r.mutable_document()->set_caption(Chars(1025));
    add("document_caption_1025", r, "document.caption: 1025 characters");
    r.mutable_document()->set_caption("ok");
    r.mutable_document()->set_filename("../etc/passwd");
    add("document_filename_path", r, "document.filename: must not contain");
    r.mutable_document()->set_filename("invoice.pdf");
    add("document_ok", r, "");
  }
  {
    SendRequest r = Base();
    r.mutable_audio();
    add("audio_no_source", r, "audio: exactly one of id or link");
    r.mutable_audio()->set_id("9");
    r.mutable_audio()->set_voice(true);
    add("audio_ok", r, "");
    SendRequest s = Base();
    s.mutable_sticker();
    add("sticker_no_source", s, "sticker: exactly one of id or link");
    s.mutable_sticker()->set_link("https://a.test/s.webp");
    add("sticker_ok", s, "");
  }

  // Location.
  {
    SendRequest r = Base();
    r.mutable_location()->set_latitude(90);
    r.mutable_location()->set_longitude(-180);
    add("location_edges", r, "");
    r.mutable_location()->set_latitude(90.0001);
    add("location_lat", r, "location.latitude: must be between -90 and 90");
    r.mutable_location()->set_latitude(0);
    r.mutable_location()->set_longitude(180.5);
    add("location_lng", r, "location.longitude: must be between -180 and 180");
  }

  // Contacts.
  {
    SendRequest r = Base();
    r.mutable_contacts();
    add("contacts_empty", r, "contacts.contacts: at least 1 contact");
    auto* ct = r.mutable_contacts()->add_contacts();
    ct->mutable_name()->set_formatted_name("John Smith");
    add("contacts_name_only_formatted", r,
        "contacts.contacts[0].name: formatted_name and at least one of");
    ct->mutable_name()->set_first_name("John");
    add("contacts_ok", r, "");
    ct->set_birthday("1990-13-01");
    add("contacts_birthday", r,
        "contacts.contacts[0].birthday: must be YYYY-MM-DD");
    ct->set_birthday("1990-12-01");
    ct->add_phones()->set_wa_id("+1");
    add("contacts_wa_id", r,
        "contacts.contacts[0].phones[0].wa_id: must be digits");
  }

  // Reaction.
  {
    SendRequest r = Base();
    r.mutable_reaction()->set_message_id("wamid.X");
    r.mutable_reaction()->set_emoji("😀");
    add("reaction_ok", r, "");
    r.mutable_reaction()->set_emoji("");
    add("reaction_remove", r, "");
    r.set_reply_to_message_id("wamid.Y");
    add("reaction_reply", r,
        "reply_to_message_id: a reaction cannot be a contextual reply");
    r.clear_reply_to_message_id();
    r.mutable_reaction()->clear_message_id();
    add("reaction_no_target", r, "reaction.message_id: required");
  }

  // Interactive: reply buttons.
  add("buttons_1", ButtonsReq(1), "");
  add("buttons_3", ButtonsReq(3), "");
  add("buttons_0", ButtonsReq(0), "interactive.button.buttons: at least 1");
  add("buttons_4", ButtonsReq(4),
      "interactive.button.buttons[3]: at most 3 reply buttons");
  add("button_title_20",
      with(ButtonsReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_button()
                 ->mutable_buttons(1)
                 ->set_title(Chars(20, "ß"));
           }),
      "");
  add("button_title_21",
      with(ButtonsReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_button()
                 ->mutable_buttons(1)
                 ->set_title(Chars(21));
           }),
      "interactive.button.buttons[1].title: 21 characters, the limit is 20");
  add("button_id_256",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_button()
                 ->mutable_buttons(0)
                 ->set_id(Chars(256));
           }),
      "");
  add("button_id_257",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_button()
                 ->mutable_buttons(0)
                 ->set_id(Chars(257));
           }),
      "interactive.button.buttons[0].id: 257 characters, the limit is 256");
  add("button_dup_id",
      with(ButtonsReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_button()
                 ->mutable_buttons(1)
                 ->set_id("id0");
           }),
      "interactive.button.buttons[1].id: button ids must be unique");
  add("button_dup_title",
      with(ButtonsReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_button()
                 ->mutable_buttons(1)
                 ->set_title("Title 0");
           }),
      "interactive.button.buttons[1].title: button titles must be unique");
  add("button_body_1024",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()->mutable_body()->set_text(Chars(1024));
           }),
      "");
  add("button_body_1025",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()->mutable_body()->set_text(Chars(1025));
           }),
      "interactive.body.text: 1025 characters, the limit is 1024");
  add("button_no_body",
      with(ButtonsReq(1),
           [](auto& r) { r.mutable_interactive()->clear_body(); }),
      "interactive.body.text: required");
  add("header_60",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()->mutable_header()->set_text(Chars(60));
           }),
      "");
  add("header_61",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()->mutable_header()->set_text(Chars(61));
           }),
      "interactive.header.text: 61 characters, the limit is 60");
  add("footer_60",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()->mutable_footer()->set_text(Chars(60));
           }),
      "");
  add("footer_61",
      with(ButtonsReq(1),
           [](auto& r) {
             r.mutable_interactive()->mutable_footer()->set_text(Chars(61));
           }),
      "interactive.footer.text: 61 characters, the limit is 60");
  add("header_image_caption",
      with(ButtonsReq(1),
           [](auto& r) {
             auto* img =
                 r.mutable_interactive()->mutable_header()->mutable_image();
             img->set_id("1");
             img->set_caption("no");
           }),
      "interactive.header.image.caption: not allowed here");

  // Interactive: list.
  add("list_1x10", ListReq(1, 10), "");
  add("list_10_sections", ListReq(10, 1), "");
  add("list_11_sections", ListReq(11, 1),
      "interactive.list.sections[10]: at most 10 sections");
  add("list_11_rows", ListReq(2, 6),
      "interactive.list.sections[1].rows[4]: at most 10 rows in total");
  add("list_no_sections", ListReq(0, 0),
      "interactive.list.sections: at least 1 section");
  add("list_empty_section", ListReq(1, 0),
      "interactive.list.sections[0].rows: at least 1 row");
  add("list_body_4096",
      with(ListReq(1, 1),
           [](auto& r) {
             r.mutable_interactive()->mutable_body()->set_text(Chars(4096));
           }),
      "");
  add("list_body_4097",
      with(ListReq(1, 1),
           [](auto& r) {
             r.mutable_interactive()->mutable_body()->set_text(Chars(4097));
           }),
      "interactive.body.text: 4097 characters, the limit is 4096");
  add("list_button_21",
      with(ListReq(1, 1),
           [](auto& r) {
             r.mutable_interactive()->mutable_list()->set_button(Chars(21));
           }),
      "interactive.list.button: 21 characters, the limit is 20");
  add("list_section_title_25",
      with(ListReq(2, 1),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_list()
                 ->mutable_sections(0)
                 ->set_title(Chars(25));
           }),
      "interactive.list.sections[0].title: 25 characters, the limit is 24");
  add("list_section_title_missing",
      with(ListReq(2, 1),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_list()
                 ->mutable_sections(1)
                 ->clear_title();
           }),
      "interactive.list.sections[1].title: required");
  auto row = [](SendRequest& r) {
    return r.mutable_interactive()
        ->mutable_list()
        ->mutable_sections(0)
        ->mutable_rows(0);
  };
  add("row_title_24",
      with(ListReq(1, 1), [&](auto& r) { row(r)->set_title(Chars(24)); }), "");
  add("row_title_25",
      with(ListReq(1, 1), [&](auto& r) { row(r)->set_title(Chars(25)); }),
      "interactive.list.sections[0].rows[0].title: 25 characters, the limit is "
      "24");
  add("row_desc_72",
      with(ListReq(1, 1), [&](auto& r) { row(r)->set_description(Chars(72)); }),
      "");
  add("row_desc_73",
      with(ListReq(1, 1), [&](auto& r) { row(r)->set_description(Chars(73)); }),
      "interactive.list.sections[0].rows[0].description: 73 characters, the "
      "limit is 72");
  add("row_id_200",
      with(ListReq(1, 1), [&](auto& r) { row(r)->set_id(Chars(200)); }), "");
  add("row_id_201",
      with(ListReq(1, 1), [&](auto& r) { row(r)->set_id(Chars(201)); }),
      "interactive.list.sections[0].rows[0].id: 201 characters, the limit is "
      "200");
  add("list_image_header",
      with(ListReq(1, 1),
           [](auto& r) {
             r.mutable_interactive()->mutable_header()->mutable_image()->set_id(
                 "1");
           }),
      "interactive.header: must be a text header");

  // Interactive: cta_url.
  {
    SendRequest r = Base();
    r.mutable_interactive()->mutable_body()->set_text("Go");
    r.mutable_interactive()->mutable_cta_url()->set_display_text(Chars(20));
    r.mutable_interactive()->mutable_cta_url()->set_url("https://a.test");
    add("cta_20", r, "");
    r.mutable_interactive()->mutable_cta_url()->set_display_text(Chars(21));
    add("cta_21", r,
        "interactive.cta_url.display_text: 21 characters, the limit is 20");
    r.mutable_interactive()->mutable_cta_url()->set_display_text("ok");
    r.mutable_interactive()->mutable_cta_url()->set_url("ftp://a");
    add("cta_url", r, "interactive.cta_url.url: must be an http(s):// URL");
  }

  // Interactive: flow.
  add("flow_ok", FlowReq(), "");
  add("flow_default_version",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_flow()
                 ->clear_flow_message_version();
           }),
      "");
  add("flow_cta_20",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()->mutable_flow()->set_flow_cta(Chars(20));
           }),
      "");
  add("flow_cta_21",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()->mutable_flow()->set_flow_cta(Chars(21));
           }),
      "interactive.flow.flow_cta: 21 characters, the limit is 20");
  add("flow_cta_empty",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()->mutable_flow()->clear_flow_cta();
           }),
      "interactive.flow.flow_cta: required");
  add("flow_cta_emoji",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()->mutable_flow()->set_flow_cta("Go 🚀");
           }),
      "interactive.flow.flow_cta: must not contain emoji");
  add("flow_navigate_no_payload",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()->mutable_flow()->set_flow_action(
                 wagate::v1::InteractiveFlow::FLOW_ACTION_NAVIGATE);
           }),
      "interactive.flow.flow_action_payload: required when flow_action is "
      "navigate");
  add("flow_no_id",
      with(FlowReq(),
           [](auto& r) {
             r.mutable_interactive()->mutable_flow()->clear_flow();
           }),
      "interactive.flow: exactly one of flow_id or flow_name");
  add("flow_empty_data",
      with(FlowReq(),
           [](auto& r) {
             auto* p = r.mutable_interactive()
                           ->mutable_flow()
                           ->mutable_flow_action_payload();
             p->set_screen("S1");
             p->mutable_data();
           }),
      "interactive.flow.flow_action_payload.data: must not be empty");

  // Interactive: product, product_list, catalog, location request, carousel.
  {
    SendRequest r = Base();
    r.mutable_interactive()->mutable_product()->set_catalog_id("1");
    r.mutable_interactive()->mutable_product()->set_product_retailer_id("sku");
    add("product_ok", r, "");
    r.mutable_interactive()->mutable_product()->clear_product_retailer_id();
    add("product_no_sku", r,
        "interactive.product.product_retailer_id: required");
  }
  add("product_list_30", ProductListReq(3, 10), "");
  add("product_list_31", ProductListReq(1, 31),
      "interactive.product_list.sections[0].product_items[30]: at most 30 "
      "products");
  add("product_list_11_sections", ProductListReq(11, 1),
      "interactive.product_list.sections[10]: at most 10 sections");
  add("product_list_no_header",
      with(ProductListReq(1, 1),
           [](auto& r) { r.mutable_interactive()->clear_header(); }),
      "interactive.header: a text header is required");
  {
    SendRequest r = Base();
    r.mutable_interactive()->mutable_body()->set_text("Where are you?");
    r.mutable_interactive()->mutable_location_request();
    add("location_request_ok", r, "");
    r.mutable_interactive()->mutable_body()->set_text(Chars(1025));
    add("location_request_1025", r, "interactive.body.text: 1025 characters");
    SendRequest a = Base();
    a.mutable_interactive()->mutable_body()->set_text("Address?");
    a.mutable_interactive()->mutable_address_message()->set_country("in");
    add("address_country", a, "interactive.address_message.country");
    SendRequest k = Base();
    k.mutable_interactive()->mutable_body()->set_text("Catalog");
    k.mutable_interactive()->mutable_catalog_message();
    add("catalog_ok", k, "");
  }
  add("carousel_2", CarouselReq(2), "");
  add("carousel_10", CarouselReq(10), "");
  add("carousel_1", CarouselReq(1),
      "interactive.carousel.cards: at least 2 cards");
  add("carousel_11", CarouselReq(11),
      "interactive.carousel.cards[10]: at most 10 cards");
  add("carousel_card_body_161",
      with(CarouselReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_carousel()
                 ->mutable_cards(1)
                 ->mutable_body()
                 ->set_text(Chars(161));
           }),
      "interactive.carousel.cards[1].body.text: 161 characters, the limit is "
      "160");
  add("carousel_card_breaks",
      with(CarouselReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_carousel()
                 ->mutable_cards(0)
                 ->mutable_body()
                 ->set_text("a\nb\nc\nd");
           }),
      "interactive.carousel.cards[0].body.text: at most 2 line breaks");
  add("carousel_mixed",
      with(CarouselReq(2),
           [](auto& r) {
             auto* card =
                 r.mutable_interactive()->mutable_carousel()->mutable_cards(1);
             auto* b = card->mutable_quick_replies()->add_buttons();
             b->set_id("a");
             b->set_title("A");
           }),
      "interactive.carousel.cards[1]: every card must have the same button");
  add("carousel_header",
      with(CarouselReq(2),
           [](auto& r) {
             r.mutable_interactive()->mutable_header()->set_text("no");
           }),
      "interactive.header: not allowed");
  add("carousel_index",
      with(CarouselReq(2),
           [](auto& r) {
             r.mutable_interactive()
                 ->mutable_carousel()
                 ->mutable_cards(1)
                 ->set_card_index(5);
           }),
      "interactive.carousel.cards[1].card_index: must be 1");
  add("interactive_no_kind",
      with(Base(),
           [](auto& r) {
             r.mutable_interactive()->mutable_body()->set_text("x");
           }),
      "interactive: one of button");

  // Templates.
  add("template_ok", TemplateReq(), "");
  add("template_name_upper",
      with(TemplateReq(),
           [](auto& r) { r.mutable_template_()->set_name("Order"); }),
      "template.name: lowercase letters, digits and underscores only");
  add("template_name_513",
      with(TemplateReq(),
           [](auto& r) { r.mutable_template_()->set_name(Chars(513)); }),
      "template.name: 513 characters, the limit is 512");
  add("template_language",
      with(TemplateReq(),
           [](auto& r) {
             r.mutable_template_()->mutable_language()->set_code("english");
           }),
      "template.language.code");
  add("template_language_419",
      with(TemplateReq(),
           [](auto& r) {
             r.mutable_template_()->mutable_language()->set_code("es_419");
           }),
      "");
  auto component = [](SendRequest& r, TemplateComponent::Type type) {
    auto* c = r.mutable_template_()->add_components();
    c->set_type(type);
    return c;
  };
  add("template_named_ok",
      with(TemplateReq(),
           [&](auto& r) {
             auto* b = component(r, TemplateComponent::TYPE_BODY);
             auto* p = b->add_parameters();
             p->set_parameter_name("first_name");
             p->set_text("Pablo");
             auto* c = b->add_parameters();
             c->set_parameter_name("amount");
             c->mutable_currency()->set_fallback_value("$1");
             c->mutable_currency()->set_code("USD");
           }),
      "");
  add("template_mixed_named",
      with(TemplateReq(),
           [&](auto& r) {
             auto* h = component(r, TemplateComponent::TYPE_HEADER);
             h->add_parameters()->set_text("Hi");
             auto* b = component(r, TemplateComponent::TYPE_BODY);
             auto* p = b->add_parameters();
             p->set_parameter_name("first_name");
             p->set_text("Pablo");
           }),
      "template.components: header and body parameters must be all named");
  add("template_bad_param_name",
      with(TemplateReq(),
           [&](auto& r) {
             auto* p =
                 component(r, TemplateComponent::TYPE_BODY)->add_parameters();
             p->set_parameter_name("First");
             p->set_text("x");
           }),
      "template.components[0].parameters[0].parameter_name");
  add("template_body_only_32768",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_BODY)
                 ->add_parameters()
                 ->set_text(Chars(32768));
           }),
      "");
  add("template_body_only_32769",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_BODY)
                 ->add_parameters()
                 ->set_text(Chars(32769));
           }),
      "template.components[0].parameters[0].text: 32769 characters, the limit "
      "is 32768");
  add("template_body_1025_with_header",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_HEADER)
                 ->add_parameters()
                 ->set_text("H");
             component(r, TemplateComponent::TYPE_BODY)
                 ->add_parameters()
                 ->set_text(Chars(1025));
           }),
      "template.components[1].parameters[0].text: 1025 characters, the limit "
      "is 1024");
  add("template_button_no_subtype",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_BUTTON)
                 ->add_parameters()
                 ->set_payload("x");
           }),
      "template.components[0].sub_type: required for a button component");
  add("template_button_index_10",
      with(TemplateReq(),
           [&](auto& r) {
             auto* b = component(r, TemplateComponent::TYPE_BUTTON);
             b->set_sub_type(TemplateComponent::SUB_TYPE_QUICK_REPLY);
             b->set_index(10);
             b->add_parameters()->set_payload("x");
           }),
      "template.components[0].index: must be from 0 to 9");
  add("template_button_dup_index",
      with(TemplateReq(),
           [&](auto& r) {
             for (int k = 0; k < 2; ++k) {
               auto* b = component(r, TemplateComponent::TYPE_BUTTON);
               b->set_sub_type(TemplateComponent::SUB_TYPE_QUICK_REPLY);
               b->set_index(1);
               b->add_parameters()->set_payload("x");
             }
           }),
      "template.components[1].index: button 1 given twice");
  add("template_payload_on_url",
      with(TemplateReq(),
           [&](auto& r) {
             auto* b = component(r, TemplateComponent::TYPE_BUTTON);
             b->set_sub_type(TemplateComponent::SUB_TYPE_URL);
             b->add_parameters()->set_payload("x");
           }),
      "template.components[0].parameters[0]: payload is only for quick_reply");
  add("template_coupon_15",
      with(TemplateReq(),
           [&](auto& r) {
             auto* b = component(r, TemplateComponent::TYPE_BUTTON);
             b->set_sub_type(TemplateComponent::SUB_TYPE_COPY_CODE);
             b->add_parameters()->set_coupon_code(Chars(15));
           }),
      "");
  add("template_coupon_16",
      with(TemplateReq(),
           [&](auto& r) {
             auto* b = component(r, TemplateComponent::TYPE_BUTTON);
             b->set_sub_type(TemplateComponent::SUB_TYPE_COPY_CODE);
             b->add_parameters()->set_coupon_code(Chars(16));
           }),
      "template.components[0].parameters[0].coupon_code: 16 characters, the "
      "limit is 15");
  add("template_image_in_body",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_BODY)
                 ->add_parameters()
                 ->mutable_image()
                 ->set_id("1");
           }),
      "template.components[0].parameters[0]: image parameters are not allowed "
      "in TYPE_BODY");
  add("template_header_image_ok",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_HEADER)
                 ->add_parameters()
                 ->mutable_image()
                 ->set_link("https://a.test/i.png");
           }),
      "");
  add("template_two_bodies",
      with(TemplateReq(),
           [&](auto& r) {
             component(r, TemplateComponent::TYPE_BODY);
             component(r, TemplateComponent::TYPE_BODY);
           }),
      "template.components[1]: at most one body component");
  add("template_no_type",
      with(TemplateReq(),
           [&](auto& r) { component(r, TemplateComponent::TYPE_UNSPECIFIED); }),
      "template.components[0].type: required");
  add("template_currency_code",
      with(TemplateReq(),
           [&](auto& r) {
             auto* c =
                 component(r, TemplateComponent::TYPE_BODY)->add_parameters();
             c->mutable_currency()->set_fallback_value("$1");
             c->mutable_currency()->set_code("usd");
           }),
      "template.components[0].parameters[0].currency.code");
  add("template_mpm_31",
      with(TemplateReq(),
           [&](auto& r) {
             auto* b = component(r, TemplateComponent::TYPE_BUTTON);
             b->set_sub_type(TemplateComponent::SUB_TYPE_MPM);
             auto* a = b->add_parameters()->mutable_action();
             a->set_thumbnail_product_retailer_id("t");
             auto* s = a->add_sections();
             s->set_title("S");
             for (int k = 0; k < 31; ++k) {
               s->add_product_items()->set_product_retailer_id(absl::StrCat(k));
             }
           }),
      "template.components[0].parameters[0].action.sections[0].product_items["
      "30]: at most 30");
  add("template_carousel_11",
      with(TemplateReq(),
           [&](auto& r) {
             auto* c = component(r, TemplateComponent::TYPE_CAROUSEL);
             for (int k = 0; k < 11; ++k) c->add_cards()->set_card_index(k);
           }),
      "template.components[0].cards[10]: at most 10 cards");
  return c;
}

class ValidationTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationTableTest, Validates) {
  const Case& c = GetParam();
  absl::Status s = ValidateSendRequest(c.request);
  if (c.error.empty()) {
    EXPECT_TRUE(s.ok()) << s;
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr(c.error));
  }
}

INSTANTIATE_TEST_SUITE_P(All, ValidationTableTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(ValidateMarkReadRequestTest, Fields) {
  wagate::v1::MarkReadRequest r;
  EXPECT_THAT(std::string(ValidateMarkReadRequest(r).message()),
              ::testing::HasSubstr("phone_number_id: required"));
  r.set_phone_number_id("123");
  EXPECT_THAT(std::string(ValidateMarkReadRequest(r).message()),
              ::testing::HasSubstr("message_id: required"));
  r.set_message_id("wamid.X");
  r.set_typing_indicator(true);
  EXPECT_TRUE(ValidateMarkReadRequest(r).ok());
}

TEST(CharacterCountTest, CountsCodePoints) {
  EXPECT_EQ(CharacterCount(""), 0u);
  EXPECT_EQ(CharacterCount("abc"), 3u);
  EXPECT_EQ(CharacterCount("日本"), 2u);
  EXPECT_EQ(CharacterCount("😀x"), 2u);
}

}  // namespace
}  // namespace wagate::messaging
