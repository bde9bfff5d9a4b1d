"""Generate a document of N health-checked load balancers (2 ports, 4 backends each).

python bench/generate.py N [--json] > big.yaml
"""

from __future__ import annotations

import json
import sys
from typing import Any


def document(count: int) -> dict[str, Any]:
    # One network per 250 load balancers keeps every address inside a /16.
    networks = []
    per_network = 250
    for n in range((count + per_network - 1) // per_network):
        base = f"10.{100 + n // 250}.{n % 250}"
        ports = [{"name": f"net{n}-inst{i}-eth0", "addresses": [f"{base}.{i + 2}"]} for i in range(200)]
        lbs = []
        for i in range(min(per_network, count - n * per_network)):
            index = n * per_network + i
            backends = [
                {
                    "name": f"b{j}",
                    "description": "",
                    "target_address": f"{base}.{(i + j) % 200 + 2}",
                    "target_port": "8080",
                }
                for j in range(4)
            ]
            lbs.append(
                {
                    "listen_address": f"172.{16 + index // 65000}.{index // 250 % 256}.{index % 250 + 1}",
                    "description": f"pool {index}",
                    "config": {"healthcheck": "true", "healthcheck.interval": "5"},
                    "backends": backends,
                    "ports": [
                        {
                            "description": "",
                            "protocol": "tcp",
                            "listen_port": "80,443",
                            "target_backend": [b["name"] for b in backends],
                        }
                    ],
                    "location": "",
                }
            )
        networks.append(
            {
                "name": f"net{n}",
                "row_prefix": f"incus-net{n}",
                "router": f"incus-net{n}-lr",
                "switch": f"incus-net{n}-ls-int",
                "ipv4_address": f"{base}.1/24",
                "switch_ports": ports,
                "load_balancers": lbs,
            }
        )
    return {"version": 1, "networks": networks}


if __name__ == "__main__":
    data = document(int(sys.argv[1]))
    if "--json" in sys.argv:
        json.dump(data, sys.stdout, indent=1)
    else:
        import yaml

        yaml.safe_dump(data, sys.stdout, sort_keys=False, width=200)
