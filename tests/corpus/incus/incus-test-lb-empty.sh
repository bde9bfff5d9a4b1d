# source: lxc/incus@be7afc5df39f089bc21e4f1d2e955fc6be8fae34:test/suites/network_ovn.sh (lines 884-899)
    # Check load balancers can be created.
    incus network load-balancer create ovn-virtual-network 192.0.2.1
    incus network load-balancer create ovn-virtual-network 2001:db8:1:2::1

    # Check no OVN config yet as not fully setup.
    ovn-nbctl list load_balancer | grep -cF name -c | grep -xF 0

    # Check forward cannot be created on same listen address as load balancer.
    ! incus network forward create ovn-virtual-network 192.0.2.1 || false
    ! incus network forward create ovn-virtual-network 2001:db8:1:2::1 || false

    # Check user config is allowed, but unknown keys are not.
    incus network load-balancer set ovn-virtual-network 192.0.2.1 user.foo=bar
    incus network load-balancer show ovn-virtual-network 192.0.2.1 | grep -F 'user.foo: bar'
    ! incus network load-balancer set ovn-virtual-network 192.0.2.1 foo=bar || false

