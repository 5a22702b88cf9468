"""Other "hosts" on this one machine for the broker's cluster test and benchmark: a Linux network namespace
joined to this one by a veth pair (`ip netns`, needs root). A process started in it has its own network stack:
it reaches the bot's host only at `host_address` over the veth, not at 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_SUBNET_BASE = "10.213"  # each host gets 10.213.K.0/30: .1 on the bot's side, .2 inside


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()} (the cluster test makes network namespaces "
                           "with `ip netns` and veth pairs, which needs root)")


def _free_subnet() -> int:
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for k in range(1, 250):
        if f" {_SUBNET_BASE}.{k}." not in used:
            return k
    raise RuntimeError(f"no free {_SUBNET_BASE}.K.0/30 subnet for another network namespace")


class NetnsHost:
    """A network namespace with a veth link to this one; `close()` removes both."""

    def __init__(self, label: str) -> None:
        tag = f"{os.getpid() % 100000}{label}"[:10]
        self.name = f"ts{tag}"
        self.outer, inner = f"tv{tag}h", f"tv{tag}n"  # interface names: at most 15 characters
        k = _free_subnet()
        self.host_address, self.address = f"{_SUBNET_BASE}.{k}.1", f"{_SUBNET_BASE}.{k}.2"
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self.outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", self.name)
            _ip("addr", "add", f"{self.host_address}/30", "dev", self.outer)
            _ip("link", "set", self.outer, "up")
            _ip("-n", self.name, "addr", "add", f"{self.address}/30", "dev", inner)
            _ip("-n", self.name, "link", "set", inner, "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
        except Exception:
            self.close()
            raise

    @property
    def prefix(self) -> list[str]:
        """Put before a command to run it in this host."""
        return ["ip", "netns", "exec", self.name]

    def run(self, *command: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *command], capture_output=True, text=True, timeout=timeout,
                              cwd=Path(__file__).resolve().parents[1])

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.outer], capture_output=True)  # removes both ends
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
