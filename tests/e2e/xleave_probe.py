#!/usr/bin/env python3
"""Interleaved-mode probe for ntsd (RFC 9769 §2; no dependencies beyond Python 3).

  xleave_probe.py HOST PORT spoof SRC_A SRC_B

Client A (source address SRC_A, a new socket and so a new port for every
request, as chrony does) runs interleaved exchanges until the server answers
in interleaved mode. Then client B (SRC_B) sends a request whose origin is
the receive timestamp of A's last answer, i.e. A's table entry: B must get a
basic answer (origin = B's own transmit timestamp). A's next request must
still be answered in interleaved mode: B's attempt neither used nor
disturbed A's entry. Prints "ok ..." and exits 0, or "FAIL ..." and exits 1.
"""
import socket
import struct
import sys
import time

NTP_DELTA = 2208988800


def ntp_now():
    t = time.time()
    return (int(t) + NTP_DELTA) << 32 | int((t % 1) * (1 << 32))


def exchange(host, port, src, origin, receive, transmit):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(1.0)
    req = struct.pack("!BBbbII4sQQQQ", 0x23, 0, 0, 0, 0, 0, b"\0\0\0\0", 0, origin, receive, transmit)
    s.sendto(req, (host, port))
    try:
        data = s.recv(2048)
    except socket.timeout:
        return None
    finally:
        s.close()
    t4 = ntp_now()
    if len(data) < 48:
        return None
    o, r, t = struct.unpack("!QQQ", data[24:48])
    return {"origin": o, "receive": r, "transmit": t, "t4": t4}


def main():
    if len(sys.argv) != 6 or sys.argv[3] != "spoof":
        print(__doc__)
        return 2
    host, port, src_a, src_b = sys.argv[1], int(sys.argv[2]), sys.argv[4], sys.argv[5]
    last = None  # A's last answer
    interleaved = 0
    for i in range(8):
        t1 = ntp_now()
        origin = last["receive"] if last else 0
        receive = last["t4"] if last else 0
        a = exchange(host, port, src_a, origin, receive, t1)
        if a is None:
            print("FAIL: A got no answer to request %d" % i)
            return 1
        if a["origin"] == receive and receive != 0:
            interleaved += 1
        elif a["origin"] != t1:
            print("FAIL: A's answer %d echoes neither T1 nor its receive field" % i)
            return 1
        last = a
        if interleaved >= 2:
            break
    if interleaved < 2:
        print("FAIL: A never got interleaved answers (%d)" % interleaved)
        return 1
    # B copies A's origin (and sends its own receive field and T1).
    t1b = ntp_now() | 1
    b = exchange(host, port, src_b, last["receive"], 0x1234567890, t1b)
    if b is None:
        print("FAIL: B got no answer")
        return 1
    if b["origin"] != t1b:
        print("FAIL: B's spoofed request got an interleaved answer (origin %x, transmit %x)" % (b["origin"], b["transmit"]))
        return 1
    # A goes on in interleaved mode.
    t1 = ntp_now()
    a = exchange(host, port, src_a, last["receive"], last["t4"], t1)
    if a is None or a["origin"] != last["t4"]:
        print("FAIL: A's next answer after B's attempt was not interleaved")
        return 1
    print("ok A interleaved %d, spoofed origin from B answered in basic mode, A still interleaved" % (interleaved + 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
