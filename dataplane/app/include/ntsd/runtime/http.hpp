// The metrics server lives in common/http (ntsd_http), shared with ntsd-ke.
#pragma once

#include "ntsd/http/server.hpp"
#include "ntsd/runtime/endpoint.hpp"

namespace ntsd::runtime {
using http::MetricsServer;
}  // namespace ntsd::runtime
