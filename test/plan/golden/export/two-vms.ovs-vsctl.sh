#!/bin/sh
# vtopo export --format ovs-vsctl: the OvS bridges of topology two_vms.
# Runs against an OvS-DPDK whose ovs-vswitchd is up; point it elsewhere with
#   VSCTL="ovs-vsctl --db=unix:/path/to/db.sock" sh this-script
set -eu
VSCTL=${VSCTL:-ovs-vsctl}
# topology two_vms has no bridge with `datapath ovs`: nothing to do.
