#!/usr/bin/env python3
"""Minimal NTP client for the ntsd tests (no dependencies beyond Python 3).

  ntp_probe.py HOST PORT plain [COUNT]      COUNT plain NTPv4 requests; prints
                                            "ok N/COUNT offset_ms=.. leap=.. stratum=.."
  ntp_probe.py HOST PORT bad KIND           one malformed request; prints "reply LEN"
                                            or "noreply". KIND: short, mode4, badver,
                                            ef_len, ef_trunc, forged_cookie
  ntp_probe.py HOST PORT flood KIND COUNT [SRC]
                                            COUNT requests sent back to back from
                                            address SRC (KIND plain, or nts: a
                                            well-formed NTS request whose cookie no
                                            key opens, NAKed when answered), then
                                            replies collected for 1 s; prints
                                            "ok=N rate=N nak=N other=N noreply=N"
                                            (rate = RATE Kiss-o'-Death)
  ntp_probe.py HOST PORT trace COUNT [GAP_MS]
                                            COUNT plain requests GAP_MS apart (default
                                            100); one line per answer: "T1 T2 T3 T4
                                            leap stratum refid root_disp_s" (Unix
                                            seconds; T1/T4 from this host's clock),
                                            "noreply" per lost one
  ntp_probe.py raw IFACE DSTMAC SRCIP DSTIP KIND
                                            one broken Ethernet frame via AF_PACKET
                                            (root). KIND: udp_checksum, ip_checksum,
                                            ip_truncated, fragment
Exit code 0 if every plain request got a valid answer (plain), always 0 for bad.
"""
import os
import socket
import struct
import sys
import time

NTP_DELTA = 2208988800


def ntp_now():
    t = time.time()
    return (int(t) + NTP_DELTA) << 32 | int((t % 1) * (1 << 32))


def request(xmt):
    return struct.pack("!BBbbIII", 0x23, 0, 6, -20, 0, 0, 0) + b"\0" * 24 + struct.pack("!Q", xmt)


def ef(ftype, body):
    n = 4 + len(body)
    pad = (-n) % 4
    return struct.pack("!HH", ftype, n + pad) + body + b"\0" * pad


def bad(kind):
    base = request(ntp_now())
    if kind == "short":
        return base[:47]
    if kind == "mode4":
        return bytes([0x24]) + base[1:]
    if kind == "badver":
        return bytes([0x3B]) + base[1:]  # version 7
    if kind == "ef_len":
        return base + struct.pack("!HH", 0x0104, 13) + b"\0" * 12  # EF length not /4
    if kind == "ef_trunc":
        return base + struct.pack("!HH", 0x0104, 64) + b"\0" * 28  # claims 64, has 32
    if kind == "forged_cookie":
        uid = ef(0x0104, os.urandom(32))
        cookie = ef(0x0204, struct.pack("!I", 0xDEADBEEF) + os.urandom(96))
        auth = ef(0x0404, struct.pack("!HH", 16, 16) + os.urandom(16) + os.urandom(16))
        return base + uid + cookie + auth
    raise SystemExit("unknown kind " + kind)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def raw(iface, dstmac, srcip, dstip, kind):
    src = bytes(int(x, 16) for x in open("/sys/class/net/%s/address" % iface).read().strip().split(":"))
    dst = bytes(int(x, 16) for x in dstmac.split(":"))
    sip, dip = socket.inet_aton(srcip), socket.inet_aton(dstip)
    payload = request(ntp_now())
    udp = struct.pack("!HHHH", 40123, 123, 8 + len(payload), 0) + payload
    uc = csum(sip + dip + struct.pack("!BBH", 0, 17, len(udp)) + udp)
    if kind == "udp_checksum":
        uc ^= 0x0101
    udp = udp[:6] + struct.pack("!H", uc) + udp[8:]
    total = 20 + len(udp)
    frag = 0x2000 if kind == "fragment" else 0x4000
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, frag, 64, 17, 0, sip, dip)
    ic = csum(ip)
    if kind == "ip_checksum":
        ic ^= 0x0101
    ip = ip[:10] + struct.pack("!H", ic) + ip[12:]
    frame = dst + src + b"\x08\x00" + ip + udp
    if kind == "ip_truncated":
        frame = frame[:14 + 30]  # IP says more than the frame has
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.send(frame)
    print("sent %s (%d bytes)" % (kind, len(frame)))
    return 0


def flood(host, port, kind, count, src):
    """Sends COUNT requests without waiting, then sorts the replies by kind."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if src:
        s.bind((src, 0))
    sent = {}
    for i in range(count):
        xmt = ntp_now() + i  # distinct origin timestamps: each reply maps to one request
        if kind == "plain":
            req = request(xmt)
        else:
            forged = bad("forged_cookie")
            req = forged[:40] + struct.pack("!Q", xmt) + forged[48:]
        sent[xmt] = True
        s.sendto(req, (host, port))
    got = {"ok": 0, "rate": 0, "nak": 0, "other": 0}
    seen = 0
    deadline = time.time() + 1.0
    while seen < count:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            break
        seen += 1
        if len(data) < 48 or struct.unpack("!Q", data[24:32])[0] not in sent:
            got["other"] += 1
        elif data[1] == 0 and data[12:16] == b"RATE":
            got["rate"] += 1 if len(data) == 48 else 0
            got["other"] += 0 if len(data) == 48 else 1
        elif data[1] == 0 and data[12:16] == b"NTSN":
            got["nak"] += 1
        elif data[1] != 0 and data[0] & 7 == 4:
            got["ok"] += 1
        else:
            got["other"] += 1
    print("ok=%d rate=%d nak=%d other=%d noreply=%d" % (got["ok"], got["rate"], got["nak"], got["other"], count - seen))
    return 0


def ntp_to_unix(v):
    return (v >> 32) - NTP_DELTA + (v & 0xFFFFFFFF) / 2**32


def trace(host, port, count, gap_ms):
    """One line per exchange, for tests that follow the server's time."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    for _ in range(count):
        xmt = ntp_now()
        t1 = time.time()
        s.sendto(request(xmt), (host, port))
        try:
            while True:
                data, _ = s.recvfrom(2048)
                if len(data) >= 48 and struct.unpack("!Q", data[24:32])[0] == xmt:
                    break
        except socket.timeout:
            print("noreply", flush=True)
            continue
        t4 = time.time()
        rx, tx = struct.unpack("!QQ", data[32:48])
        disp = struct.unpack("!I", data[8:12])[0] / 65536.0
        refid = data[12:16].decode("ascii", "replace").rstrip("\0") or "-"
        print("%.9f %.9f %.9f %.9f %d %d %s %.6f" % (t1, ntp_to_unix(rx), ntp_to_unix(tx), t4, data[0] >> 6, data[1],
                                                   refid, disp), flush=True)
        time.sleep(gap_ms / 1000.0)
    return 0


def main():
    if sys.argv[1] == "raw":
        return raw(*sys.argv[2:7])
    if len(sys.argv) > 3 and sys.argv[3] == "flood":
        src = sys.argv[6] if len(sys.argv) > 6 else None
        return flood(sys.argv[1], int(sys.argv[2]), sys.argv[4], int(sys.argv[5]), src)
    if len(sys.argv) > 4 and sys.argv[3] == "trace":
        gap = float(sys.argv[5]) if len(sys.argv) > 5 else 100.0
        return trace(sys.argv[1], int(sys.argv[2]), int(sys.argv[4]), gap)
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    if mode == "bad":
        s.sendto(bad(sys.argv[4]), (host, port))
        try:
            data, _ = s.recvfrom(2048)
            li_vn_mode, stratum = data[0], data[1]
            refid = data[12:16]
            print("reply %d stratum=%d refid=%s mode=%d" % (len(data), stratum, refid.decode("ascii", "replace"), li_vn_mode & 7))
        except socket.timeout:
            print("noreply")
        return 0
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    ok, worst, last = 0, 0.0, ""
    for _ in range(count):
        xmt = ntp_now()
        t1 = time.time()
        s.sendto(request(xmt), (host, port))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        t4 = time.time()
        if len(data) < 48:
            continue
        li, mode_r, stratum = data[0] >> 6, data[0] & 7, data[1]
        org, rx, tx = struct.unpack("!QQQ", data[24:48])
        if mode_r != 4 or org != xmt:
            continue
        t2 = (rx >> 32) - NTP_DELTA + (rx & 0xFFFFFFFF) / 2**32
        t3 = (tx >> 32) - NTP_DELTA + (tx & 0xFFFFFFFF) / 2**32
        if t3 < t2:
            continue
        off = ((t2 - t1) + (t3 - t4)) / 2 * 1000
        worst = max(worst, abs(off))
        ok += 1
        last = "leap=%d stratum=%d" % (li, stratum)
    print("ok %d/%d max_abs_offset_ms=%.3f %s" % (ok, count, worst, last))
    return 0 if ok == count else 1


if __name__ == "__main__":
    sys.exit(main())
