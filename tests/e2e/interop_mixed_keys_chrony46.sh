#!/usr/bin/env bash
# Mixed-key interop with Debian 13's chrony 4.6.1: interop_mixed_keys.sh with
# AES-128-GCM-SIV master keys (chrony's NKS1 file) and AEAD-30 sessions.
# e2e-timeout: 120
MIXED_CHRONY=4.6 exec bash "$(dirname "$0")/interop_mixed_keys.sh"
