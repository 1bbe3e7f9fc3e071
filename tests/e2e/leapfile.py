#!/usr/bin/env python3
"""Writes a leap-second list in the IERS/NIST format (tzdata's
leap-seconds.list) with a correct "#h" SHA-1 line, for end-to-end tests that
drive ntsd across a leap second of their choosing.

  leapfile.py OUT LEAP_UNIX [EXPIRES_UNIX] [delete]
      entries: 2017-01-01 TAI-UTC 37, then LEAP_UNIX (the UTC midnight after
      23:59:60, as a Unix time) with 38 (or 36 with "delete"; LEAP_UNIX 0 = no
      second entry); expiry EXPIRES_UNIX (default LEAP_UNIX + 180 days).
"""
import hashlib
import sys

NTP_DELTA = 2208988800


def main():
    out, leap = sys.argv[1], int(sys.argv[2])
    expires = int(sys.argv[3]) if len(sys.argv) > 3 else leap + 180 * 86400
    delete = len(sys.argv) > 4 and sys.argv[4] == "delete"
    entries = [(1483228800, 37)]
    if leap:
        entries.append((leap, 36 if delete else 38))
    updated = 1483228800
    ntp = lambda t: str(t + NTP_DELTA)
    text = "# test leap-second list\n#$\t%s\n#@\t%s\n" % (ntp(updated), ntp(expires))
    hashed = ntp(updated) + ntp(expires)
    for t, off in entries:
        text += "%s\t%d\t# test\n" % (ntp(t), off)
        hashed += ntp(t) + str(off)
    h = hashlib.sha1(hashed.encode()).hexdigest()
    text += "#h\t" + " ".join(h[i:i + 8] for i in range(0, 40, 8)) + "\n"
    with open(out + ".tmp", "w") as f:
        f.write(text)
    import os
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
