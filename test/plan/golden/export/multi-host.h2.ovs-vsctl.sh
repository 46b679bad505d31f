#!/bin/sh
# vtopo export --format ovs-vsctl --host h2: host h2's part of topology campus, for its own OvS.
# Runs against an OvS-DPDK whose ovs-vswitchd is up; point it elsewhere with
#   VSCTL="ovs-vsctl --db=unix:/path/to/db.sock" sh this-script
set -eu
VSCTL=${VSCTL:-ovs-vsctl}

# DPDK (takes effect when ovs-vswitchd starts; memory: OvS's default hugepages).
$VSCTL --no-wait set Open_vSwitch . other_config:dpdk-init=true 'other_config:dpdk-extra="--file-prefix=vtopo-campus-h2 --no-pci --no-telemetry"'

# br-phy: the underlay; its internal port carries the tunnel endpoint 172.31.0.2/24.
$VSCTL --may-exist add-br br-phy -- set Bridge br-phy datapath_type=netdev external_ids:vtopo-topology=campus external_ids:vtopo-host=h2 -- set Interface br-phy mtu_request=1600
# Host h2 names no uplink: vtopo deploy builds its underlay from a veth. On a machine of its own, add the
# interface that carries the underlay: $VSCTL --may-exist add-port br-phy IFACE
# Then the endpoint address (not OvS's): ip addr add 172.31.0.2/24 dev br-phy; ip link set br-phy mtu 1600 up

# br-int: the integration bridge ovn-controller programs.
$VSCTL --may-exist add-br br-int -- set Bridge br-int datapath_type=netdev fail_mode=secure other_config:disable-in-band=true external_ids:vtopo-topology=campus external_ids:vtopo-host=h2

# The chassis campus-h2: what ovn-controller reads from Open_vSwitch.external_ids.
$VSCTL set Open_vSwitch . external_ids:system-id=campus-h2 external_ids:hostname=campus-h2 external_ids:ovn-remote=tcp:172.31.0.1:6642 external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=172.31.0.2 external_ids:ovn-bridge=br-int external_ids:ovn-bridge-datapath-type=netdev

# vm b: its ports are VIFs of their logical switch ports
$VSCTL --may-exist add-port br-int b.eth0 -- set Interface b.eth0 type=dpdkvhostuserclient options:vhost-server-path=/run/vtopo/campus/vhost/b.eth0.sock mtu_request=1400 external_ids:iface-id=b.eth0
