/* clock_state: prints the kernel's clock discipline state (adjtimex with
 * modes = 0, a pure read): "status=0x.. freq=.. offset=.. state=..". The
 * e2e tests compare it before and after running ntpd-rs to show that the
 * noclock.so shim kept the machine's clock untouched.
 *   cc -O2 -o clock_state tests/peers/clock_state.c */
#include <stdio.h>
#include <sys/timex.h>

int main(void) {
  struct timex tx = {0};
  const int state = adjtimex(&tx);
  if (state < 0) {
    perror("adjtimex");
    return 1;
  }
  printf("status=0x%x freq=%ld offset=%ld tick=%ld state=%d\n", (unsigned)tx.status, tx.freq,
         tx.offset, tx.tick, state);
  return 0;
}
