// keel/live/net.h — the Asio networking, Beast HTTP and OpenSSL headers runtime/live uses.
//
// Purpose: one include for sockets, TLS and HTTP, after keel/live/asio.h (which puts <utility>
// first for Boost 1.74 under g++ 12). Include this, never Beast or asio/ssl directly.
#pragma once

#include "keel/live/asio.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
