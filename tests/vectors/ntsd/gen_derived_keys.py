#!/usr/bin/env python3
"""Writes derived_keys.json: the vectors that pin ntsd's derived cookie keys
(ctrl/keys/include/ntsd/keys/derived.hpp, docs/keys.md "Derived keys").

An implementation independent of ntsd's (Python's hmac/hashlib, RFC 5869
written out), so that the vectors check the C++ code rather than restate it.
Run once; the JSON is committed. A change of the output is a change of the
derivation: every fleet's cookies would stop opening across the upgrade.
"""
import hashlib
import hmac
import json
import struct

SALT = b"ntsd derived cookie keys v1"
LABEL = b"ntsd-cookie-key"
FP_INFO = b"ntsd fleet secret fingerprint"
KEY_LEN = {15: 32, 17: 64, 30: 16}
TAG = {15: 1, 17: 2, 30: 3}


def hkdf_sha256(ikm, salt, info, length):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()  # RFC 5869 2.2
    okm, t, i = b"", b"", 1
    while len(okm) < length:                             # RFC 5869 2.3
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def key(secret, aead, period_s, n):
    info = LABEL + struct.pack(">HQq", aead, period_s, n)
    return hkdf_sha256(secret, SALT, info, KEY_LEN[aead])


def key_id(aead, n):
    return (TAG[aead] << 28) | (n & 0x0FFFFFFF)


def main():
    # RFC 5869 appendix A.1, to pin the primitive itself.
    rfc = {
        "ikm": "0b" * 22,
        "salt": "000102030405060708090a0b0c",
        "info": "f0f1f2f3f4f5f6f7f8f9",
        "length": 42,
        "okm": hkdf_sha256(bytes.fromhex("0b" * 22), bytes.fromhex("000102030405060708090a0b0c"),
                           bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42).hex(),
    }
    assert rfc["okm"] == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                          "34007208d5b887185865")
    secrets = [bytes(range(32)), b"ntsd fleet secret for test vectors, 48 bytes.."]
    cases = []
    for secret in secrets:
        for aead in (15, 17, 30):
            for period_s, n in ((86400, 20000), (86400, 20001), (3600, 480000), (60, -1)):
                cases.append({
                    "secret": secret.hex(), "aead": aead, "period_s": period_s, "n": n,
                    "id": "%08X" % key_id(aead, n), "key": key(secret, aead, period_s, n).hex(),
                })
    fingerprints = [{"secret": s.hex(), "fingerprint": hkdf_sha256(s, SALT, FP_INFO, 4).hex()}
                    for s in secrets]
    with open("derived_keys.json", "w") as f:
        json.dump({"about": __doc__.strip().splitlines()[0], "rfc5869_a1": rfc, "keys": cases,
                   "fingerprints": fingerprints}, f, indent=1)
        f.write("\n")


main()
