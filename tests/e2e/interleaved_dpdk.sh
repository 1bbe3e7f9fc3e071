#!/usr/bin/env bash
# e2e-timeout: 240
# interleaved.sh with the DPDK backend on net_af_packet (see there).
exec bash "$(dirname "$0")/interleaved.sh" dpdk
