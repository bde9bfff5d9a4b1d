#!/bin/sh
# Two real servers, round robin, direct routing, as a director's start-up
# script sets them (ipvsadm(8): -A add a virtual service, -s rr, -a add a
# real server, -g gatewaying, "This is the default").
set -e
VIP=192.168.10.100

ipvsadm -C
ipvsadm -A -t 192.168.10.100:80 -s rr
ipvsadm -a -t 192.168.10.100:80 -r 192.168.10.11:80 -g
ipvsadm -a -t 192.168.10.100:80 -r 192.168.10.12:80 -g
echo "LVS-DR on $VIP ready"
