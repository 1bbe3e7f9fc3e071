#!/usr/bin/env bash
# e2e-timeout: 200
# ratelimit.sh with the DPDK backend on net_af_packet (see there).
exec bash "$(dirname "$0")/ratelimit.sh" dpdk
