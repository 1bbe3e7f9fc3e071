// The endpoint parser lives in common/http (ntsd_http), shared with ntsd-ke;
// the runtime keeps its names.
#pragma once

#include "ntsd/http/endpoint.hpp"

namespace ntsd::runtime {
using http::Endpoint;
using http::parse_endpoint;
using http::to_string;
}  // namespace ntsd::runtime
