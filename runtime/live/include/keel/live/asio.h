// keel/live/asio.h — the one place keel includes Boost.Asio.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>, which g++ 12
// rejects in C++20 mode; including <utility> first fixes it. Include this, never Asio directly.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
