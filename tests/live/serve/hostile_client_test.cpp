// keel serve against hostile or broken clients (issue 19): every one is answered with a 4xx /
// 503 or closed within its ServeLimits deadline, and the server keeps serving the others.
// Deep nesting, a body shorter than its Content-Length, an oversize body, a huge header, a
// malformed request, the connection cap, the body memory budget, and accept failing with EMFILE.
// Real time, with limits small enough that each test takes well under a second or two.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "wire_client.h"

namespace keel::live::serve::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using End = WireResult::End;

constexpr const char* kScenario = R"({"keel_scenario": 1, "name": "hostile", "horizon": "1h",
    "providers": [
      {"name": "gpt", "latency": {"fixed": "10ms"}, "output_tokens": 8},
      {"name": "claude", "api": "anthropic", "latency": {"fixed": "10ms"}, "output_tokens": 8}],
    "workload": {"kind": "agents"}})";

const std::string kHello = R"({"messages":[{"role":"user","content":"Hello"}]})";

ServeOptions with(ServeLimits limits) { return ServeOptions{.time_scale = 1.0, .limits = limits}; }

// A request head for `path` whose body is `content_length` bytes (the body is not included).
std::string head(const std::string& path, std::size_t content_length, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

// An Anthropic request whose tool_use input is `depth` arrays deep.
std::string nested_tool_use(std::size_t depth) {
  return R"({"model":"c","max_tokens":16,"messages":[{"role":"assistant","content":[)"
         R"({"type":"tool_use","id":"t1","name":"f","input":{"x":)" +
         std::string(depth, '[') + std::string(depth, ']') + R"(}}]},{"role":"user","content":"go on"}]})";
}

void expect_served(std::uint16_t port) {
  WireClient other{port};
  WireResult r = other.post(kOpenAiPath, kHello, 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 200);
}

TEST(HostileClient, DeepNestingIsRefusedWith400NotACrash) {
  ServedScenario s{kScenario, {}};
  WireClient c{s.port()};
  const std::string body = nested_tool_use(55000);  // the reported 110 KB request
  WireResult r = c.post(kAnthropicPath, body, 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("nests deeper than 512"), std::string::npos) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "invalid_request_error");
  expect_served(s.port());
  EXPECT_EQ(s.on_io([&] { return s.server().counters("claude").requests; }), 0u);
}

TEST(HostileClient, NestingWithinTheBoundIsServed) {
  ServedScenario s{kScenario, {}};
  WireClient c{s.port()};
  WireResult r = c.post(kAnthropicPath, nested_tool_use(500), 3s);  // 506 levels in all
  ASSERT_EQ(r.end, End::complete);
  EXPECT_EQ(r.status, 200) << r.body;
}

// The tool_use input is counted as a compact serializer writes it (as before the parser change):
// whitespace between its tokens costs no prompt tokens.
TEST(HostileClient, ToolUseInputIsCountedAsCompactJson) {
  auto prompt_tokens = [](const std::string& body) {
    ServedScenario s{kScenario, {}};
    WireClient c{s.port()};
    EXPECT_EQ(c.post(kAnthropicPath, body, 3s).status, 200);
    s.stop();
    return s.server().counters("claude").max_prompt_tokens;
  };
  std::string spaced = nested_tool_use(3);
  spaced.replace(spaced.find("[[[]]]"), 6, "[ [ [" + std::string(400, ' ') + "] ] ]");
  EXPECT_EQ(prompt_tokens(spaced), prompt_tokens(nested_tool_use(3)));
}

TEST(HostileClient, ShortBodyIsAnswered408WithinTheBodyTimeoutWhileOthersAreServed) {
  ServedScenario s{kScenario, with({.body_timeout = 300ms})};
  WireClient slow{s.port()};
  std::thread others{[&] { expect_served(s.port()); }};
  // Promises 100 bytes, sends 10, then waits: answered within the deadline, not held forever.
  WireResult r = slow.send_raw(head(kOpenAiPath, 100) + kHello.substr(0, 10), 3s);
  others.join();
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_GE(r.ended_after, 250ms);
  EXPECT_LT(r.ended_after, 2500ms);
  EXPECT_TRUE(slow.closed_by_peer_within(2s));
}

TEST(HostileClient, IncompleteHeaderIsAnswered408WithinTheHeaderTimeout) {
  ServedScenario s{kScenario, with({.header_timeout = 300ms})};
  WireClient slow{s.port()};
  WireResult r = slow.send_raw("POST /gpt/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n", 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 408);
  EXPECT_LT(r.ended_after, 2500ms);
  expect_served(s.port());
}

TEST(HostileClient, IdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
  ServedScenario s{kScenario, with({.idle_timeout = 200ms})};
  WireClient c{s.port()};
  EXPECT_EQ(c.post(kOpenAiPath, kHello, 3s).status, 200);
  EXPECT_TRUE(c.closed_by_peer_within(2s));
  EXPECT_EQ(s.on_io([&] { return s.server().open_connections(); }), 0u);
}

TEST(HostileClient, OversizeBodyIs413AndNeverReachesTheProvider) {
  ServedScenario s{kScenario, with({.max_body_bytes = 64 * 1024})};
  WireClient c{s.port()};
  const std::string big = R"({"messages":[{"role":"user","content":")" + std::string(1 << 20, 'a') + "\"}]}";
  WireResult r = c.post(kOpenAiPath, big, 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("larger than 65536 bytes"), std::string::npos) << r.body;
  // A body just under the limit is served.
  WireClient fits{s.port()};
  const std::string ok = R"({"messages":[{"role":"user","content":")" + std::string(60 * 1024, 'a') + "\"}]}";
  EXPECT_EQ(fits.post(kOpenAiPath, ok, 3s).status, 200);
  s.stop();
  EXPECT_EQ(s.server().counters("gpt").requests, 1u);
}

TEST(HostileClient, OversizeChunkedBodyIs413) {
  ServedScenario s{kScenario, with({.max_body_bytes = 4096})};
  WireClient c{s.port()};
  const std::string chunk(8192, 'a');
  WireResult r = c.send_raw("POST /gpt/v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "2000\r\n" + chunk + "\r\n0\r\n\r\n",
                            3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 413);
}

TEST(HostileClient, HugeHeaderIs431) {
  ServedScenario s{kScenario, {}};  // default: 16 KiB
  WireClient c{s.port()};
  WireResult r = c.send_raw(head(kOpenAiPath, kHello.size(), "X-Junk: " + std::string(64 * 1024, 'j') + "\r\n") + kHello, 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 431);
  expect_served(s.port());
}

TEST(HostileClient, MalformedRequestIs400NotASilentClose) {
  ServedScenario s{kScenario, {}};
  for (const std::string& bad : {std::string("\x01\x02 / HTTP/1.1\r\nHost: x\r\n\r\n"),
                                std::string("POST /gpt/v1/chat/completions HTTP/1.1\r\nHost x\r\n\r\n"),
                                std::string("POST /gpt/v1/chat/completions HTTP/1.1\r\nContent-Length: zz\r\n\r\n")}) {
    WireClient c{s.port()};
    WireResult r = c.send_raw(bad, 3s);
    ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("malformed HTTP/1.1 request"), std::string::npos) << r.body;
    EXPECT_EQ(r.header("connection"), "close");
  }
  expect_served(s.port());
}

// The error bodies quote the URL's provider name: bytes that are not UTF-8 there are written
// as U+FFFD (keel's one invalid-UTF-8 rule), not an exception out of the connection.
TEST(HostileClient, AUrlThatIsNotUtf8IsAnswered404) {
  ServedScenario s{kScenario, {}};
  WireClient c{s.port()};
  WireResult r = c.send_raw(head("/g\xff\xc3/v1/chat/completions", kHello.size()) + kHello, 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 404);
  ASSERT_TRUE(json::accept(r.body)) << r.body;
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("g\xEF\xBF\xBD"), std::string::npos) << r.body;
  expect_served(s.port());
}

TEST(HostileClient, ConnectionsOverTheCapAreRefusedPromptlyUntilOneCloses) {
  ServedScenario s{kScenario, with({.max_connections = 2})};
  auto a = std::make_unique<WireClient>(s.port());
  WireClient b{s.port()};
  for (int i = 0; i < 200 && s.on_io([&] { return s.server().open_connections(); }) < 2; ++i) {
    std::this_thread::sleep_for(5ms);  // wait for the server to accept both
  }
  ASSERT_EQ(s.on_io([&] { return s.server().open_connections(); }), 2u);
  WireClient third{s.port()};
  WireResult r = third.send_raw(head(kOpenAiPath, kHello.size()) + kHello, 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_LT(r.ended_after, 1000ms);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_TRUE(third.closed_by_peer_within(3s));
  a.reset();  // one closes: room for a new one
  for (int i = 0; i < 200 && s.on_io([&] { return s.server().open_connections(); }) > 1; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  expect_served(s.port());
  EXPECT_EQ(b.post(kOpenAiPath, kHello, 3s).status, 200);
}

TEST(HostileClient, BodiesOverTheMemoryBudgetAre503) {
  ServedScenario s{kScenario, with({.max_body_bytes = 64 * 1024, .body_memory_budget = 100 * 1024,
                                    .body_timeout = 1s})};
  // One client holds a 64 KiB body open (sends a part); a second one's 64 KiB would pass the budget.
  WireClient holder{s.port()};
  holder.write_raw(head(kOpenAiPath, 64 * 1024) + "{");
  std::this_thread::sleep_for(200ms);  // the holder's header is read and its body reserved
  WireClient second{s.port()};
  WireResult r = second.send_raw(head(kOpenAiPath, 64 * 1024) + "{", 3s);
  ASSERT_EQ(r.end, End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  expect_served(s.port());  // small bodies still fit
  EXPECT_EQ(holder.read_answer(3s).status, 408);  // and the holder meets its body deadline
}

// A large body is parsed off the io thread: the others are answered while it is parsed (the
// issue's report: one 50 MB body stalled every other client for seconds). A fast answer to the
// small request while the large one takes several times longer is the proof; before the fix
// the small request waited for the whole parse.
TEST(HostileClient, ALargeBodyIsParsedWhileOthersAreServed) {
  ServedScenario s{kScenario, with({.max_body_bytes = 64 * 1024 * 1024})};
  const std::string message = R"({"role":"user","content":"hi"},)";
  std::string body = R"({"messages":[)";
  body.reserve(48 * 1024 * 1024 + 64);
  while (body.size() + message.size() < 48 * 1024 * 1024) body += message;
  body.back() = ']';
  body += '}';
  WireClient big{s.port()};
  big.write_raw(head(kOpenAiPath, body.size()) + body);  // returns once the kernel holds the last byte
  const auto sent = std::chrono::steady_clock::now();
  WireClient small{s.port()};
  const WireResult quick = small.post(kOpenAiPath, kHello, 30s);
  const WireResult slow = big.read_answer(60s);
  const auto big_took = std::chrono::steady_clock::now() - sent;
  ASSERT_EQ(quick.end, End::complete) << to_string(quick.end) << " " << quick.error;
  ASSERT_EQ(slow.end, End::complete) << to_string(slow.end) << " " << slow.error;
  EXPECT_EQ(quick.status, 200);
  // The large request reached its provider, which refuses its 8 M tokens as an API would.
  EXPECT_EQ(slow.status, 400);
  EXPECT_NE(slow.body.find("maximum context length"), std::string::npos) << slow.body.substr(0, 200);
  EXPECT_LT(quick.ended_after * 3, big_took)
      << "the small request took " << quick.ended_after.count() << " ms while the large one took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(big_took).count() << " ms";
}

// CPU time of the calling thread.
std::chrono::microseconds thread_cpu() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return std::chrono::seconds{u.ru_utime.tv_sec + u.ru_stime.tv_sec} +
         std::chrono::microseconds{u.ru_utime.tv_usec + u.ru_stime.tv_usec};
}

TEST(HostileClient, AcceptFailingWithEmfileBacksOffInsteadOfSpinning) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer runtime needs descriptors of its own: UBSan's vptr check probes memory
  // through a pipe(), which fails while no descriptor is left, and then reports every
  // polymorphic call as "invalid vptr". The release build runs this test.
  GTEST_SKIP() << "descriptor exhaustion breaks the sanitizer runtime's own checks";
#endif
  ServedScenario s{kScenario, {}};
  // A client socket made now, connected once no descriptor is left for the server's accept.
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  const int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = static_cast<rlim_t>(lowest_free);  // every new descriptor is EMFILE
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);  // queued in the backlog

  const auto cpu_before = s.on_io(thread_cpu);
  const auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(600ms);
  const auto cpu = s.on_io(thread_cpu) - cpu_before;
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - wall_before);
  setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_LT(cpu * 4, wall) << "the io thread used " << cpu.count() << " us of CPU in " << wall.count() << " us";

  // With descriptors back, the queued connection is accepted (within the 1 s back-off cap) and served.
  const std::string request = head(kOpenAiPath, kHello.size()) + kHello;
  ASSERT_EQ(::write(client, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  timeval two_seconds{2, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
  char answer[64] = {};
  ASSERT_GT(::read(client, answer, sizeof answer - 1), 0);
  EXPECT_EQ(std::string(answer).rfind("HTTP/1.1 200", 0), 0u) << answer;
  ::close(client);
}

TEST(ServeLimits, OutOfBoundsLimitsAreRefusedWithTheirBounds) {
  EXPECT_EQ(check_limits({}), "");
  EXPECT_EQ(check_limits({.max_connections = 0}), "--max-connections must be in [1, 65536], found 0");
  EXPECT_NE(check_limits({.max_body_bytes = 1u << 30}).find("--max-body-bytes must be in [1024, 268435456]"),
            std::string::npos);
  EXPECT_NE(check_limits({.max_body_bytes = 1u << 20, .body_memory_budget = 1000}).find("--body-memory-budget"),
            std::string::npos);
  EXPECT_NE(check_limits({.header_timeout = Duration::zero()}).find("--header-timeout must be in [1ms, 1h]"),
            std::string::npos);
  boost::asio::io_context io;
  EXPECT_THROW((FaultServer{io, load_scenario_text(kScenario), with({.max_header_bytes = 10})}), ServeError);
}

}  // namespace
}  // namespace keel::live::serve::testing
