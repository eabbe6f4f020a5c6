// Tests for keel/core/error.h: code names, retry advice, Error helpers and describe().
#include "keel/core/error.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

using namespace std::chrono_literals;

namespace keel {
namespace {

TEST(ErrorCodeTest, NamesRoundTripForEveryCode) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kErrorCodes.size(); ++i) {
    const auto& info = kErrorCodes[i];
    EXPECT_EQ(static_cast<std::size_t>(info.code), i) << "table order must be enum order";
    EXPECT_EQ(to_string(info.code), info.name);
    EXPECT_EQ(error_code_from_string(info.name), info.code);
    EXPECT_FALSE(info.why.empty()) << info.name;
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate " << info.name;
  }
  EXPECT_EQ(kErrorCodes.size(), 18u);  // v1.1 added content_filter
}

TEST(ErrorCodeTest, ScenarioFormatNamesAreExact) {
  // scenarios/FORMAT.md, "Error codes used in retry_on and reports".
  for (std::string_view n : {"rate_limited", "server_error", "timeout", "network", "context_overflow",
                             "quota_exhausted", "auth", "invalid_request", "malformed_response",
                             "circuit_open", "cancelled", "tool_error"}) {
    auto c = error_code_from_string(n);
    ASSERT_TRUE(c.has_value()) << n;
    EXPECT_EQ(to_string(*c), n);
  }
  for (std::string_view n : {"budget_exhausted", "bulkhead_full", "throttled", "horizon", "internal"})
    EXPECT_TRUE(error_code_from_string(n).has_value()) << n;
}

TEST(ErrorCodeTest, UnknownNamesAreRejected) {
  EXPECT_FALSE(error_code_from_string("").has_value());
  EXPECT_FALSE(error_code_from_string("Timeout").has_value());
  EXPECT_FALSE(error_code_from_string("rate_limit").has_value());  // fault kind, not a code
  EXPECT_FALSE(error_code_from_string("timeout ").has_value());
}

TEST(ErrorCodeTest, RetryAdvice) {
  const std::set<ErrorCode> retryable = {ErrorCode::rate_limited, ErrorCode::server_error, ErrorCode::timeout,
                                         ErrorCode::network, ErrorCode::malformed_response};
  for (const auto& info : kErrorCodes) {
    EXPECT_EQ(is_retryable(info.code), retryable.count(info.code) == 1) << info.name;
    EXPECT_EQ(info.retryable, is_retryable(info.code));
  }
  // The known defect this guards against: quota exhaustion is neither retryable nor an overflow.
  EXPECT_FALSE(is_retryable(ErrorCode::quota_exhausted));
  EXPECT_FALSE(is_retryable(ErrorCode::context_overflow));
}

TEST(ErrorCodeTest, IsConstexpr) {
  static_assert(to_string(ErrorCode::timeout) == "timeout");
  static_assert(is_retryable(ErrorCode::rate_limited));
  static_assert(!is_retryable(ErrorCode::auth));
  std::ostringstream os;
  os << ErrorCode::circuit_open;
  EXPECT_EQ(os.str(), "circuit_open");
}

TEST(ErrorTest, FluentBuildersOnTemporariesAndLvalues) {
  Error e = Error{ErrorCode::rate_limited, "slow down"}.with_status(429).with_provider("a").with_retry_after(2s);
  EXPECT_EQ(e.code, ErrorCode::rate_limited);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.provider, "a");
  EXPECT_EQ(e.retry_after, Duration{2s});
  EXPECT_EQ(e.message, "slow down");
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(e.cause, nullptr);

  Error f{ErrorCode::auth};
  Error& ref = f.with_status(401).with_provider("b");
  EXPECT_EQ(&ref, &f);
  EXPECT_EQ(f.http_status, 401);
  EXPECT_FALSE(f.retryable());

  const Error d;
  EXPECT_EQ(d.code, ErrorCode::internal);
  EXPECT_EQ(make_error(ErrorCode::cancelled, "bye"), Error(ErrorCode::cancelled, "bye"));
}

TEST(ErrorTest, CauseChainWalkAndDescribe) {
  Error inner = Error{ErrorCode::server_error, "upstream overloaded"}.with_status(503).with_provider("a");
  Error outer = Error{ErrorCode::timeout, "attempt timed out"}.with_provider("a").caused_by(inner);
  ASSERT_NE(outer.cause, nullptr);
  EXPECT_EQ(*outer.cause, inner);

  std::vector<ErrorCode> codes;
  for (const Error* e = &outer; e; e = e->cause.get()) codes.push_back(e->code);
  EXPECT_EQ(codes, (std::vector{ErrorCode::timeout, ErrorCode::server_error}));
  EXPECT_EQ(outer.root_cause(), inner);
  EXPECT_EQ(outer.find(ErrorCode::server_error), outer.cause.get());
  EXPECT_EQ(outer.find(ErrorCode::timeout), &outer);
  EXPECT_EQ(outer.find(ErrorCode::auth), nullptr);

  EXPECT_EQ(outer.describe(),
            "timeout: attempt timed out (provider=a) <- server_error 503: upstream overloaded (provider=a)");
  Error three = Error{ErrorCode::internal}.caused_by(outer);
  EXPECT_EQ(three.describe(),
            "internal <- timeout: attempt timed out (provider=a) <- server_error 503: upstream overloaded (provider=a)");
}

TEST(ErrorTest, DescribeFormatsRetryAfter) {
  EXPECT_EQ(Error{ErrorCode::rate_limited}.with_status(429).with_retry_after(1500ms).describe(),
            "rate_limited 429 (retry_after=1500ms)");
  EXPECT_EQ(Error{ErrorCode::rate_limited}.with_provider("p").with_retry_after(Duration{7}).describe(),
            "rate_limited (provider=p, retry_after=7ns)");
  std::ostringstream os;
  os << Error{ErrorCode::network, "reset"};
  EXPECT_EQ(os.str(), "network: reset");
}

TEST(ErrorTest, EqualityIsDeep) {
  Error a = Error{ErrorCode::timeout}.caused_by(Error{ErrorCode::network, "x"});
  Error b = Error{ErrorCode::timeout}.caused_by(Error{ErrorCode::network, "x"});
  Error c = Error{ErrorCode::timeout}.caused_by(Error{ErrorCode::network, "y"});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, Error{ErrorCode::timeout});
  Error copy = a;  // copies share the immutable cause
  EXPECT_EQ(copy.cause, a.cause);
}

TEST(ErrorTest, MovesAreCheap) {
  static_assert(std::is_nothrow_move_constructible_v<Error>);
  Error a = Error{ErrorCode::tool_error, std::string(100, 'x')}.caused_by(Error{ErrorCode::timeout});
  const auto* cause = a.cause.get();
  Error b = std::move(a);
  EXPECT_EQ(b.cause.get(), cause);
  EXPECT_EQ(b.message.size(), 100u);
}

}  // namespace
}  // namespace keel
