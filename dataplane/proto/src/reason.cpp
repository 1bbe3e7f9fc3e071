#include "ntsd/proto/server.hpp"

namespace ntsd::proto {

namespace {
struct ReasonInfo {
  const char* name;
  Verdict verdict;
};
// Indexed by Reason; the names are metric labels, so never rename one.
// clang-format off
constexpr std::array<ReasonInfo, kReasonCount> kReasons{{
    {"ok_plain", Verdict::kRespond},
    {"ok_nts", Verdict::kRespond},
    {"too_short", Verdict::kDrop},
    {"too_long", Verdict::kDrop},
    {"bad_version", Verdict::kDrop},
    {"not_client_mode", Verdict::kDrop},
    {"bad_ef_length", Verdict::kDrop},
    {"ef_truncated", Verdict::kDrop},
    {"too_many_efs", Verdict::kDrop},
    {"mac_unsupported", Verdict::kDrop},
    {"missing_uid", Verdict::kDrop},
    {"short_uid", Verdict::kDrop},
    {"duplicate_uid", Verdict::kDrop},
    {"missing_cookie", Verdict::kDrop},
    {"multiple_cookies", Verdict::kDrop},
    {"placeholder_length", Verdict::kDrop},
    {"auth_missing", Verdict::kDrop},
    {"auth_malformed", Verdict::kDrop},
    {"auth_not_last", Verdict::kDrop},
    {"no_key_ring", Verdict::kNak},
    {"cookie_unknown_key", Verdict::kNak},
    {"cookie_bad", Verdict::kNak},
    {"auth_failed", Verdict::kNak},
    {"response_too_large", Verdict::kDrop},
    {"out_too_small", Verdict::kDrop},
    {"rate_limited", Verdict::kKod},
    {"internal_error", Verdict::kDrop},
}};
// clang-format on
// A missing entry would leave a null name at the end of the table.
static_assert(kReasons[kReasonCount - 1].name != nullptr, "kReasons must list every Reason");
// The table documents each reason's verdict next to its name; it must agree
// with the inline reason_verdict() the hot path uses.
constexpr bool verdicts_agree() {
  for (std::size_t i = 0; i < kReasonCount; ++i)
    if (kReasons[i].verdict != reason_verdict(static_cast<Reason>(i))) return false;
  return true;
}
static_assert(verdicts_agree(), "kReasons verdicts disagree with reason_verdict()");
}  // namespace

const char* reason_name(Reason r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < kReasonCount ? kReasons[i].name : "invalid";
}


}  // namespace ntsd::proto
