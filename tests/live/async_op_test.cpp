// async_op: a keel task awaiting an Asio operation — completion, deadline, cancellation,
// already-cancelled, and the awaiting frame destroyed mid-operation (nothing dangles; ASan).
#include "keel/live/async_op.h"

#include <array>
#include <memory>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "keel/core/cancel.h"
#include "keel/core/spawn.h"
#include "keel/live/asio_scheduler.h"
#include "live/live_test_support.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using Socket = boost::asio::local::stream_protocol::socket;

struct Pair {
  explicit Pair(boost::asio::io_context& io) : a(std::make_shared<Socket>(io)), b(io) {
    boost::asio::local::connect_pair(*a, b);
  }
  std::shared_ptr<Socket> a;
  Socket b;
};

Task<OpResult<std::size_t>> read_one(std::shared_ptr<Socket> s, Deadline deadline, std::array<char, 8>* buf) {
  auto start = [&](auto handler) { s->async_read_some(boost::asio::buffer(*buf), handler); };
  auto stop = [s] {
    boost::system::error_code ignored;
    s->close(ignored);
  };
  co_return co_await async_op<std::size_t>(start, stop, deadline, s);
}

using AsyncOp = test::NoLeakedFds;

TEST_F(AsyncOp, CompletesWithTheOperationsValue) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  Pair p{io};
  std::array<char, 8> buf{};
  boost::asio::write(p.b, boost::asio::buffer("hey", 3));
  OpResult<std::size_t> r = test::run_task(sched, read_one(p.a, Deadline::never(), &buf));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value, 3u);
  EXPECT_EQ(std::string_view(buf.data(), 3), "hey");
}

TEST_F(AsyncOp, DeadlineStopsTheOperationAndSaysSo) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  Pair p{io};
  std::array<char, 8> buf{};
  OpResult<std::size_t> r = test::run_task(sched, read_one(p.a, Deadline::after(sched.now(), 20ms), &buf));
  EXPECT_EQ(r.end, OpEnd::timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(p.a->is_open()) << "stop() closed the socket";
}

TEST_F(AsyncOp, CancellationStopsTheOperationAndAnAlreadyCancelledTaskNeverStartsOne) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  Pair p{io};
  std::array<char, 8> buf{};
  CancelSource cancel;
  sched.start_timer_after(10ms, [&cancel] { cancel.cancel(); });
  OpResult<std::size_t> r = test::run_task(sched, read_one(p.a, Deadline::never(), &buf), cancel.token());
  EXPECT_EQ(r.end, OpEnd::cancelled);
  EXPECT_FALSE(p.a->is_open());

  Pair q{io};
  OpResult<std::size_t> again = test::run_task(sched, read_one(q.a, Deadline::never(), &buf), cancel.token());
  EXPECT_EQ(again.end, OpEnd::cancelled);
  EXPECT_TRUE(q.a->is_open()) << "never started, so never stopped";
}

TEST_F(AsyncOp, FrameDestroyedMidOperationLeavesNothingDangling) {
  boost::asio::io_context io;
  std::array<char, 8> buf{};
  bool finished = false;
  {
    Pair p{io};
    {
      AsioScheduler sched{io};
      spawn(sched, read_one(p.a, Deadline::never(), &buf), [&](OpResult<std::size_t>) { finished = true; });
      io.run_for(10ms);  // the read is now pending
    }  // the scheduler destroys the suspended task: the awaiter stops the read
    io.restart();
    io.run();  // the aborted handler runs against the shared state only
    EXPECT_FALSE(finished);
    EXPECT_FALSE(p.a->is_open());
  }
}

}  // namespace
}  // namespace keel::live
