// The hand-written TOML subset ntsd's configuration was parsed with before
// toml++ (issue 16); only the differential test uses it now.
#pragma once

#include "ntsd/config/toml.hpp"

namespace ntsd::config {

std::optional<TomlDocument> parse_toml_subset(std::string_view text, std::string& error);

}  // namespace ntsd::config
