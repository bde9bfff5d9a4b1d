# source: lxc/incus@be7afc5df39f089bc21e4f1d2e955fc6be8fae34:test/suites/network_ovn.sh (lines 1036-1045)
    # Change load balancer ports towards u1 and u2.
    incus network load-balancer port remove ovn-virtual-network 192.0.2.1 tcp 53
    incus network load-balancer port remove ovn-virtual-network 2001:db8:1:2::1 tcp 53
    incus network load-balancer port add ovn-virtual-network 192.0.2.1 tcp 53 u1,u2
    incus network load-balancer port add ovn-virtual-network 2001:db8:1:2::1 tcp 53 u1,u2

    # Check OVN config mentions both backend target IPs.
    ovn-nbctl list load_balancer | grep -F "{\"192.0.2.1:53\"=\"${U1_IPV4}:53,${U2_IPV4}:53\"}"
    ovn-nbctl list load_balancer | grep -F "{\"[2001:db8:1:2::1]:53\"=\"[${U1_IPV6}]:53,[${U2_IPV6}]:53\"}"

