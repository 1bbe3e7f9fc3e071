/* noclock.so: an LD_PRELOAD shim that lets an NTP daemon run as root without
 * ever steering the machine's clock. ntpd-rs refuses to start unless it may
 * adjust the clock, and it must never adjust the host's during the tests.
 *
 * Every clock adjustment becomes a read: clock_adjtime/adjtimex/ntp_adjtime
 * go to the kernel with modes = 0 (which only reads the state, so the daemon
 * still sees the real clock and "succeeds"); clock_settime, settimeofday and
 * stime do nothing and report success. Each refused change is counted and,
 * with NOCLOCK_LOG set, logged to stderr, so a test can show the daemon tried
 * and nothing happened.
 *
 * Built from source by scripts/setup and tests/e2e/lib.sh (ntsd's own code):
 *   cc -shared -fPIC -O2 -o noclock.so tests/peers/noclock.c
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static unsigned long refused;

static void note(const char* what, unsigned modes) {
  ++refused;
  if (getenv("NOCLOCK_LOG"))
    fprintf(stderr, "noclock: %s with modes 0x%x turned into a read (%lu so far)\n", what, modes,
            refused);
}

/* The kernel call with the modes cleared: a pure read of the clock state. */
static int read_only(clockid_t clk, struct timex* tx, const char* what) {
  if (tx != NULL && tx->modes != 0) {
    note(what, tx->modes);
    tx->modes = 0;
  }
  return (int)syscall(SYS_clock_adjtime, clk, tx);
}

int clock_adjtime(clockid_t clk, struct timex* tx) { return read_only(clk, tx, "clock_adjtime"); }
int adjtimex(struct timex* tx) { return read_only(CLOCK_REALTIME, tx, "adjtimex"); }
int ntp_adjtime(struct timex* tx) { return read_only(CLOCK_REALTIME, tx, "ntp_adjtime"); }
int __adjtimex(struct timex* tx) { return read_only(CLOCK_REALTIME, tx, "__adjtimex"); }

int clock_settime(clockid_t clk, const struct timespec* ts) {
  (void)clk;
  (void)ts;
  note("clock_settime", 0);
  return 0;
}

int settimeofday(const struct timeval* tv, const struct timezone* tz) {
  (void)tv;
  (void)tz;
  note("settimeofday", 0);
  return 0;
}

int adjtime(const struct timeval* delta, struct timeval* olddelta) {
  (void)delta;
  note("adjtime", 0);
  if (olddelta != NULL) olddelta->tv_sec = olddelta->tv_usec = 0;
  return 0;
}
