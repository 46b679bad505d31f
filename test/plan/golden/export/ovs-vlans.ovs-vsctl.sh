#!/bin/sh
# vtopo export --format ovs-vsctl: the OvS bridges of topology ovsvlans.
# Runs against an OvS-DPDK whose ovs-vswitchd is up; point it elsewhere with
#   VSCTL="ovs-vsctl --db=unix:/path/to/db.sock" sh this-script
set -eu
VSCTL=${VSCTL:-ovs-vsctl}

# DPDK settings vtopo uses for its private instance (take effect when ovs-vswitchd starts).
$VSCTL --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=128 other_config:dpdk-socket-limit=128 other_config:dpdk-hugepage-dir=/run/vtopo/ovsvlans/hugepages other_config:pmd-cpu-mask=0x2 other_config:pmd-maxsleep=1000 'other_config:dpdk-extra=--file-prefix=vtopo-ovsvlans-ec5bca --no-pci --no-telemetry'

# bridge sw
$VSCTL --may-exist add-br sw -- set Bridge sw datapath_type=netdev
$VSCTL --may-exist add-port sw a.eth0 -- set Interface a.eth0 type=dpdkvhostuserclient options:vhost-server-path=/run/vtopo/ovsvlans/vhost/a.eth0.sock mtu_request=1500 -- set Port a.eth0 tag=10 vlan_mode=access
$VSCTL --may-exist add-port sw b.eth0 -- set Interface b.eth0 type=dpdkvhostuserclient options:vhost-server-path=/run/vtopo/ovsvlans/vhost/b.eth0.sock mtu_request=1500 -- set Port b.eth0 trunks=10,11,20 vlan_mode=trunk
$VSCTL --may-exist add-port sw b.eth1 -- set Interface b.eth1 type=dpdkvhostuserclient options:vhost-server-path=/run/vtopo/ovsvlans/vhost/b.eth1.sock mtu_request=1500 -- set Port b.eth1 tag=10 trunks=10,20 vlan_mode=native-untagged
$VSCTL --may-exist add-port sw up -- set Interface up type=dpdk options:dpdk-devargs=net_tap0,iface=vtec5b-up options:n_rxq=1 mtu_request=1500 -- set Port up trunks=10,20 vlan_mode=trunk
