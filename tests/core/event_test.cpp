// Tests for keel/core/event.h: Attr conversions, emit, and the helper sinks.
#include "keel/core/event.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace keel {
namespace {

static_assert(std::is_trivially_copyable_v<Attr>);

TEST(AttrTest, Conversions) {
  const std::string owned = "owned";
  const std::size_t n = 3;
  const Attr attrs[] = {{"i", 1},
                        {"l", -2L},
                        {"u", 3u},
                        {"z", n},
                        {"d", 0.5},
                        {"f", 0.25f},
                        {"b", true},
                        {"c", "lit"},
                        {"sv", std::string_view{"view"}},
                        {"s", owned},
                        {"dur", 250ms},
                        {"tp", time_point_at(2s)},
                        {"code", ErrorCode::rate_limited}};
  EXPECT_EQ(std::get<std::int64_t>(attrs[0].value), 1);
  EXPECT_EQ(std::get<std::int64_t>(attrs[1].value), -2);
  EXPECT_EQ(std::get<std::uint64_t>(attrs[2].value), 3u);
  EXPECT_EQ(std::get<std::uint64_t>(attrs[3].value), 3u);
  EXPECT_EQ(std::get<double>(attrs[4].value), 0.5);
  EXPECT_EQ(std::get<double>(attrs[5].value), 0.25);
  EXPECT_EQ(std::get<bool>(attrs[6].value), true);
  EXPECT_EQ(std::get<std::string_view>(attrs[7].value), "lit");
  EXPECT_EQ(std::get<std::string_view>(attrs[8].value), "view");
  EXPECT_EQ(std::get<std::string_view>(attrs[9].value).data(), owned.data()) << "a view, not a copy";
  EXPECT_EQ(std::get<std::int64_t>(attrs[10].value), 250'000'000);
  EXPECT_EQ(attrs[10].key, "dur");
  EXPECT_EQ(std::get<std::int64_t>(attrs[11].value), 2'000'000'000);
  EXPECT_EQ(std::get<std::string_view>(attrs[12].value), "rate_limited");
}

TEST(EmitTest, NullSinkIsANoOp) {
  emit(nullptr, TimePoint{}, "nothing", {{"a", 1}});  // must not crash
  SUCCEED();
}

TEST(EmitTest, RecordingSinkCopiesEverything) {
  RecordingSink rec;
  {
    std::string temp = "transient";
    emit(&rec, time_point_at(5ms), "retry.scheduled",
         {{"attempt", 2}, {"delay", 250ms}, {"code", ErrorCode::server_error}, {"note", temp}, {"ok", false}});
    temp.assign("overwritten");
  }
  emit(&rec, time_point_at(6ms), "attempt.started");
  const Attr span_attrs[] = {{"n", 1u}};
  emit(&rec, time_point_at(7ms), "retry.scheduled", std::span<const Attr>{span_attrs});

  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec.kinds(), (std::vector<std::string>{"retry.scheduled", "attempt.started", "retry.scheduled"}));
  EXPECT_EQ(rec.count("retry.scheduled"), 2u);
  EXPECT_EQ(rec.count("nope"), 0u);
  EXPECT_EQ(rec.find("nope"), nullptr);
  EXPECT_EQ(rec.find_all("retry.scheduled").size(), 2u);

  const RecordedEvent* e = rec.find("retry.scheduled");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->time, time_point_at(5ms));
  EXPECT_EQ(*e->get<std::int64_t>("attempt"), 2);
  EXPECT_EQ(e->get_int("delay"), 250'000'000);
  EXPECT_EQ(*e->get<std::string>("code"), "server_error");
  EXPECT_EQ(*e->get<std::string>("note"), "transient");
  EXPECT_EQ(*e->get<bool>("ok"), false);
  EXPECT_EQ(e->get<double>("attempt"), nullptr) << "wrong type";
  EXPECT_FALSE(e->has("missing"));
  EXPECT_EQ(rec.events()[2].get_int("n"), 1);
  EXPECT_TRUE(rec.events()[1].attrs.empty());

  rec.clear();
  EXPECT_EQ(rec.size(), 0u);
}

TEST(EmitTest, EventFindReturnsFirstMatch) {
  struct Probe : EventSink {
    std::int64_t got = -1;
    void on_event(const Event& e) override {
      if (const std::optional<AttrValue> v = e.find("x")) got = std::get<std::int64_t>(*v);
      EXPECT_FALSE(e.find("missing"));
    }
  } probe;
  emit(&probe, TimePoint{}, "k", {{"x", 1}, {"x", 2}});
  EXPECT_EQ(probe.got, 1);
}

// The ids an event points at are attributes after its own, nonzero ones only, its own winning.
TEST(EmitTest, TraceIdsAreShownAfterTheOwnAttributes) {
  RecordingSink rec;
  const TraceIds ids{.agent = 2, .step = 5, .call = 0, .attempt = 3};
  emit(&rec, TimePoint{}, "retry.attempt", {{"attempt", 1}, {"target", "gpt"}}, &ids);
  ASSERT_EQ(rec.size(), 1u);
  std::vector<std::string> keys;
  for (const RecordedAttr& a : rec.events()[0].attrs) keys.push_back(a.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"attempt", "target", "agent", "step"}));
  EXPECT_EQ(*rec.events()[0].get<std::int64_t>("attempt"), 1) << "the event's own attribute wins";
  EXPECT_EQ(*rec.events()[0].get<std::int64_t>("agent"), 2);

  struct Probe : EventSink {
    void on_event(const Event& e) override {
      EXPECT_EQ(e.shown_ids(), 0b1011u);  // agent, step, attempt
      EXPECT_EQ(attr_count(e), 5u);
      EXPECT_EQ(e.integer("attempt"), 3);
      EXPECT_EQ(e.integer("step"), 5);
      EXPECT_FALSE(e.find("call")) << "a zero id is not shown";
      EXPECT_EQ(e.text("target"), "gpt");
      EXPECT_TRUE(e.flag("ok"));
    }
  } probe;
  emit(&probe, TimePoint{}, "k", {{"target", "gpt"}, {"ok", true}}, &ids);
}

TEST(FanoutSinkTest, ForwardsInOrderAndSkipsNull) {
  RecordingSink a, b;
  CountingSink c;
  FanoutSink fan{&a, nullptr, &c};
  fan.add(&b);
  fan.add(nullptr);
  EXPECT_EQ(fan.size(), 3u);
  emit(&fan, TimePoint{}, "x.one");
  emit(&fan, TimePoint{}, "x.two");
  emit(&fan, TimePoint{}, "x.one");
  fan.remove(&b);
  emit(&fan, TimePoint{}, "x.three");
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(c.total(), 4u);
  EXPECT_EQ(c.count("x.one"), 2u);
  EXPECT_EQ(c.count("x.nope"), 0u);
  std::vector<std::string> kinds;
  for (const auto& [k, n] : c.counts()) kinds.push_back(k);
  EXPECT_EQ(kinds, (std::vector<std::string>{"x.one", "x.three", "x.two"}));
}

}  // namespace
}  // namespace keel
