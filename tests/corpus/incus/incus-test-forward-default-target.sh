# source: lxc/incus@be7afc5df39f089bc21e4f1d2e955fc6be8fae34:test/suites/network_ovn.sh (lines 654-683)
    # Check forwards can be created with no target address.
    incus network forward create ovn-virtual-network 192.0.2.1
    incus network forward create ovn-virtual-network 2001:db8:1:2::1
    ovn-nbctl list load_balancer | grep -cF name | grep -xF 0
    ovn-nbctl --bare --columns=type find nat type=dnat | grep -cF dnat | grep -xF 0

    # Check load balancer cannot be created on same listen address as forward.
    ! incus network load-balancer create ovn-virtual-network 192.0.2.1 || false
    ! incus network load-balancer create ovn-virtual-network 2001:db8:1:2::1 || false

    # Check user config is allowed, but unknown keys are not.
    incus network forward set ovn-virtual-network 192.0.2.1 user.foo=bar
    incus network forward show ovn-virtual-network 192.0.2.1 | grep 'user.foo: bar'
    ! incus network forward set ovn-virtual-network 192.0.2.1 foo=bar || false

    # Check basic forward default target address can be set (to non-existent target address).
    incus network forward set ovn-virtual-network 192.0.2.1 target_address="${ip4AddressPrefix}.2"
    incus network forward set ovn-virtual-network 2001:db8:1:2::1  target_address="${ip6AddressPrefix}::2"
    ovn-nbctl list load_balancer | grep -cF name | grep -xF 0
    ovn-nbctl --bare --columns=type find nat type=dnat | grep -cF dnat | grep -xF 2
    incus network forward delete ovn-virtual-network 192.0.2.1
    incus network forward delete ovn-virtual-network 2001:db8:1:2::1
    ovn-nbctl list load_balancer | grep -cF name | grep -xF 0
    ovn-nbctl --bare --columns=type find nat type=dnat | grep -cF dnat | grep -xF 0

    # Check basic forward can be created with target address (to non-existent target address).
    incus network forward create ovn-virtual-network 192.0.2.1 target_address="${ip4AddressPrefix}.2"
    incus network forward create ovn-virtual-network 2001:db8:1:2::1 target_address="${ip6AddressPrefix}::2"
    ovn-nbctl list load_balancer | grep -cF name | grep -xF 0
    ovn-nbctl --bare --columns=type find nat type=dnat | grep -cF dnat | grep -xF 2
