// unit_sandbox: runs a command under the clock-related confinement of a
// systemd unit file, for tests on machines where systemd is not PID 1
// (docs/operations.md, "Reading the clock under the shipped units").
//
//   unit_sandbox UNIT -- CMD [ARGS...]   apply UNIT's confinement, exec CMD
//   unit_sandbox --probe                 try each clock call, print the result
//
// What it reproduces from the unit, as systemd does it:
// - SystemCallFilter=~NAME... deny lists (and the @clock group), answered
//   with SystemCallErrorNumber= (EPERM by default here), through libseccomp;
//   an allow list (a line without "~") is not reproduced and is an error, so
//   that a unit this tool cannot model never passes for tested;
// - ProtectClock=yes, which systemd implements as a deny list of @clock;
// - CapabilityBoundingSet=: every capability not listed is dropped from the
//   bounding, effective, permitted and inheritable sets.
//
// The probe's calls all carry invalid arguments (a negative nanosecond
// field, a zero tick), so that if nothing stops them the kernel answers
// EINVAL and the machine's clock is never changed.
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// systemd's @clock group (src/shared/seccomp-util.c, "@clock").
const std::vector<std::string> kClockGroup = {"adjtimex",      "clock_adjtime",   "clock_adjtime64",
                                              "clock_settime", "clock_settime64", "settimeofday"};

struct Unit {
  std::vector<std::string> deny;
  std::set<std::string> caps;
  bool caps_given = false;
  int error = EPERM;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool parse_unit(const char* path, Unit& u) {
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "unit_sandbox: cannot open %s\n", path);
    return false;
  }
  std::string line;
  while (std::getline(f, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = trim(line.substr(0, eq)), val = trim(line.substr(eq + 1));
    std::istringstream words(val);
    std::string w;
    if (key == "ProtectClock" && (val == "yes" || val == "true")) {
      u.deny.insert(u.deny.end(), kClockGroup.begin(), kClockGroup.end());
    } else if (key == "SystemCallFilter") {
      if (val.empty() || val[0] != '~') {
        std::fprintf(stderr, "unit_sandbox: %s: allow list \"%s\" is not reproduced by this tool\n", path, val.c_str());
        return false;
      }
      std::istringstream deny(val.substr(1));
      while (deny >> w) {
        if (w == "@clock") u.deny.insert(u.deny.end(), kClockGroup.begin(), kClockGroup.end());
        else if (w[0] == '@') {
          std::fprintf(stderr, "unit_sandbox: group %s is not reproduced by this tool\n", w.c_str());
          return false;
        } else u.deny.push_back(w);
      }
    } else if (key == "SystemCallErrorNumber") {
      if (val != "EPERM") {
        std::fprintf(stderr, "unit_sandbox: SystemCallErrorNumber=%s is not reproduced\n", val.c_str());
        return false;
      }
    } else if (key == "CapabilityBoundingSet") {
      u.caps_given = true;
      while (words >> w) u.caps.insert(w);
    }
  }
  return true;
}

bool apply_filter(const Unit& u) {
  if (u.deny.empty()) return true;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  for (const auto& name : u.deny) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture (the *64 variants on x86_64)
    if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<unsigned>(u.error)), nr, 0) != 0) {
      std::fprintf(stderr, "unit_sandbox: cannot filter %s\n", name.c_str());
      seccomp_release(ctx);
      return false;
    }
  }
  const int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) std::fprintf(stderr, "unit_sandbox: seccomp_load: %s\n", std::strerror(-rc));
  return rc == 0;
}

bool apply_caps(const Unit& u) {
  if (!u.caps_given) return true;
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return false;
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
    char* name = cap_to_name(c);
    std::string upper = name ? name : "";
    cap_free(name);
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (u.caps.count(upper)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
      std::fprintf(stderr, "unit_sandbox: PR_CAPBSET_DROP %s: %s\n", upper.c_str(), std::strerror(errno));
      cap_free(caps);
      return false;
    }
    const cap_value_t v[] = {c};
    cap_set_flag(caps, CAP_EFFECTIVE, 1, v, CAP_CLEAR);
    cap_set_flag(caps, CAP_PERMITTED, 1, v, CAP_CLEAR);
    cap_set_flag(caps, CAP_INHERITABLE, 1, v, CAP_CLEAR);
  }
  const int rc = cap_set_proc(caps);
  cap_free(caps);
  return rc == 0;
}

const char* result(int rc) { return rc == 0 ? "ok" : strerrorname_np(errno); }

int probe() {
  timex tx{};
  tx.modes = 0;
  int rc = adjtimex(&tx);
  std::printf("adjtimex read: %s\n", rc >= 0 ? "ok" : strerrorname_np(errno));
  timex w{};
  w.modes = ADJ_TICK;
  w.tick = 0;  // outside 900000/HZ..1100000/HZ: EINVAL if it got that far
  rc = adjtimex(&w);
  std::printf("adjtimex write: %s\n", rc >= 0 ? "ok" : strerrorname_np(errno));
  // Raw system calls: glibc rejects these arguments itself, before any
  // filter or the kernel could see them.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec = -1;  // invalid: EINVAL if it got that far
  std::printf("clock_settime: %s\n", result(static_cast<int>(syscall(SYS_clock_settime, CLOCK_REALTIME, &ts))));
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tv.tv_usec = -1;
  std::printf("settimeofday: %s\n", result(static_cast<int>(syscall(SYS_settimeofday, &tv, nullptr))));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--probe") == 0) return probe();
  if (argc < 4 || std::strcmp(argv[2], "--") != 0) {
    std::fprintf(stderr, "usage: unit_sandbox UNIT -- CMD [ARGS...] | unit_sandbox --probe\n");
    return 2;
  }
  Unit u;
  if (!parse_unit(argv[1], u)) return 2;
  if (!apply_caps(u)) {
    std::fprintf(stderr, "unit_sandbox: cannot drop capabilities: %s\n", std::strerror(errno));
    return 2;
  }
  // NoNewPrivileges=yes, which seccomp needs without CAP_SYS_ADMIN anyway.
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (!apply_filter(u)) return 2;
  execvp(argv[3], argv + 3);
  std::fprintf(stderr, "unit_sandbox: exec %s: %s\n", argv[3], std::strerror(errno));
  return 127;
}
