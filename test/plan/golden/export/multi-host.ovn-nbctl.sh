#!/bin/sh
# vtopo export --format ovn-nbctl: the logical topology of campus in OVN_Northbound.
# vtopo deploy writes the same rows (its private central on host h1).
# Runs against ovn-nbctl's default Northbound; point it elsewhere with
#   NBCTL="ovn-nbctl --db=unix:/path/to/nb.sock" sh this-script
# Running it again changes nothing.
set -eu
NBCTL=${NBCTL:-ovn-nbctl}

# switch web (MTU 1400)
$NBCTL --may-exist ls-add web -- set Logical_Switch web external_ids:vtopo-topology=campus external_ids:vtopo-mtu=1400 external_ids:vtopo-l3=6205b6f2
$NBCTL --may-exist lsp-add web a.eth0 -- lsp-set-addresses a.eth0 '02:d1:e7:08:03:e6 10.0.1.1' -- lsp-set-port-security a.eth0 '02:d1:e7:08:03:e6 10.0.1.1' -- set Logical_Switch_Port a.eth0 external_ids:vtopo-topology=campus external_ids:vtopo-vm=a external_ids:vtopo-host=h1
$NBCTL --may-exist lsp-add web b.eth0 -- lsp-set-addresses b.eth0 '02:cb:fa:c3:db:7e 10.0.1.2' -- lsp-set-port-security b.eth0 '02:cb:fa:c3:db:7e 10.0.1.2' -- set Logical_Switch_Port b.eth0 external_ids:vtopo-topology=campus external_ids:vtopo-vm=b external_ids:vtopo-host=h2

# switch db (MTU 1400)
$NBCTL --may-exist ls-add db -- set Logical_Switch db external_ids:vtopo-topology=campus external_ids:vtopo-mtu=1400 external_ids:vtopo-l3=6205b6f2
$NBCTL --may-exist lsp-add db c.eth0 -- lsp-set-addresses c.eth0 '02:07:e0:b4:13:76 10.0.2.1' -- lsp-set-port-security c.eth0 '02:07:e0:b4:13:76 10.0.2.1' -- set Logical_Switch_Port c.eth0 external_ids:vtopo-topology=campus external_ids:vtopo-vm=c external_ids:vtopo-host=h3

# router edge
$NBCTL --may-exist lr-add edge -- set Logical_Router edge external_ids:vtopo-topology=campus
$NBCTL --may-exist lrp-add edge edge-web 02:81:9c:d3:b8:1e 10.0.1.254/24 -- set Logical_Router_Port edge-web external_ids:vtopo-topology=campus
$NBCTL --may-exist lsp-add web web-edge -- lsp-set-type web-edge router -- lsp-set-addresses web-edge router -- set Logical_Switch_Port web-edge options:router-port=edge-web external_ids:vtopo-topology=campus
$NBCTL --may-exist lrp-add edge edge-db 02:47:8c:a9:36:85 10.0.2.254/24 -- set Logical_Router_Port edge-db external_ids:vtopo-topology=campus
$NBCTL --may-exist lsp-add db db-edge -- lsp-set-type db-edge router -- lsp-set-addresses db-edge router -- set Logical_Switch_Port db-edge options:router-port=edge-db external_ids:vtopo-topology=campus
