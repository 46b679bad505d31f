#!/bin/sh
# vtopo export --format ovs-vsctl: the OvS bridges of topology ovslab.
# Runs against an OvS-DPDK whose ovs-vswitchd is up; point it elsewhere with
#   VSCTL="ovs-vsctl --db=unix:/path/to/db.sock" sh this-script
set -eu
VSCTL=${VSCTL:-ovs-vsctl}

# DPDK settings vtopo uses for its private instance (take effect when ovs-vswitchd starts).
$VSCTL --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=128 other_config:dpdk-socket-limit=128 other_config:dpdk-hugepage-dir=/run/vtopo/ovslab/hugepages other_config:pmd-cpu-mask=0x2 other_config:pmd-maxsleep=1000 'other_config:dpdk-extra=--file-prefix=vtopo-ovslab-443853 --no-pci --no-telemetry'

# bridge core
$VSCTL --may-exist add-br core -- set Bridge core datapath_type=netdev
$VSCTL --may-exist add-port core router.wan -- set Interface router.wan type=dpdkvhostuser mtu_request=9000
$VSCTL --may-exist add-port core up0 -- set Interface up0 type=dpdk options:dpdk-devargs=net_af_packet0,iface=veth-up0,qpairs=2 options:n_rxq=2 mtu_request=9000

# bridge edge
$VSCTL --may-exist add-br edge -- set Bridge edge datapath_type=netdev
$VSCTL --may-exist add-port edge router.lan -- set Interface router.lan type=dpdkvhostuserclient options:vhost-server-path=/run/vtopo/ovslab/vhost/router.lan.sock mtu_request=1500
$VSCTL --may-exist add-port edge client.eth0 -- set Interface client.eth0 type=dpdkvhostuserclient options:vhost-server-path=/run/vtopo/ovslab/vhost/client.eth0.sock mtu_request=1500

# link core edge: a pair of patch ports
$VSCTL --may-exist add-port core patch-core-edge -- set Interface patch-core-edge type=patch options:peer=patch-edge-core
$VSCTL --may-exist add-port edge patch-edge-core -- set Interface patch-edge-core type=patch options:peer=patch-core-edge
