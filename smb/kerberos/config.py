"""The parts of ``krb5.conf`` a client needs: default realm, the realms' KDCs and the UDP
preference limit.

The file is MIT's profile format (krb5.conf(5)): ``[section]`` headers, ``tag = value``
relations and ``tag = { ... }`` subsections; ``#``/``;`` comments; ``include FILE`` and
``includedir DIR``. Its path is ``$KRB5_CONFIG`` (a colon-separated list), else
``/etc/krb5.conf``. KDC addresses are ``host``, ``host:port`` or ``[v6addr]:port``, with the
RFC 4120 7.2.3.1 default port 88; the optional ``tcp/``/``udp/`` prefix picks the transport.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

DEFAULT_PATH = "/etc/krb5.conf"
KDC_PORT = 88
UDP_PREFERENCE_LIMIT = 1465  # MIT's default: larger requests go over TCP first


@dataclass
class KrbConfig:
    default_realm: str = ""
    realms: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)
    libdefaults: Dict[str, str] = field(default_factory=dict)

    def kdcs(self, realm: str) -> List[Tuple[str, str, int]]:
        """(transport or '', host, port) of the realm's KDCs, in file order."""
        entries = self._realm(realm).get("kdc", [])
        return [parse_kdc(e) for e in entries]

    def _realm(self, realm: str) -> Dict[str, List[str]]:
        for name, rel in self.realms.items():
            if name.upper() == realm.upper():
                return rel
        return {}

    @property
    def udp_preference_limit(self) -> int:
        try:
            return int(self.libdefaults.get("udp_preference_limit", UDP_PREFERENCE_LIMIT))
        except ValueError:
            return UDP_PREFERENCE_LIMIT


def parse_kdc(entry: str, default_port: int = KDC_PORT) -> Tuple[str, str, int]:
    """``[tcp/|udp/]host[:port]`` (IPv6 in brackets) -> (transport, host, port)."""
    entry = entry.strip()
    transport = ""
    for prefix in ("tcp/", "udp/"):
        if entry.lower().startswith(prefix):
            transport, entry = prefix[:3], entry[4:]
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    return transport, host, int(port) if port else default_port


def load(path: Optional[str] = None) -> KrbConfig:
    """Parse ``path``, else ``$KRB5_CONFIG``, else /etc/krb5.conf; missing files give an empty
    configuration."""
    paths = [path] if path else os.environ.get("KRB5_CONFIG", DEFAULT_PATH).split(":")
    cfg = KrbConfig()
    tree: Dict[str, dict] = {}
    for p in paths:
        if p and os.path.isfile(p):
            _parse_file(p, tree, depth=0)
    for realm, rel in tree.get("realms", {}).items():
        if isinstance(rel, dict):
            cfg.realms[realm] = {k: v if isinstance(v, list) else [v] for k, v in rel.items()
                                 if not isinstance(v, dict)}
    lib = tree.get("libdefaults", {})
    cfg.libdefaults = {k: (v[0] if isinstance(v, list) else v) for k, v in lib.items() if not isinstance(v, dict)}
    cfg.default_realm = cfg.libdefaults.get("default_realm", "")
    return cfg


def _parse_file(path: str, tree: dict, depth: int) -> None:
    if depth > 8:
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    section: Optional[dict] = None
    stack: List[dict] = []
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("include ") or line.startswith("includedir "):
            _include(line, tree, depth)
            continue
        if line.startswith("[") and "]" in line:
            section = tree.setdefault(line[1:line.index("]")].strip(), {})
            stack = []
            continue
        if section is None:
            continue
        target = stack[-1] if stack else section
        if line.startswith("}"):
            if stack:
                stack.pop()
            continue
        tagname, eq, value = line.partition("=")
        if not eq:
            continue
        tagname, value = tagname.strip(), value.strip()
        if value == "{" or value.startswith("{"):
            sub = target.setdefault(tagname, {})
            if not isinstance(sub, dict):
                sub = target[tagname] = {}
            stack.append(sub)
            continue
        if value.endswith("*"):  # the "final" marker
            value = value[:-1].rstrip()
        target.setdefault(tagname, [])
        if isinstance(target[tagname], list):
            target[tagname].append(value)


def _include(line: str, tree: dict, depth: int) -> None:
    kind, _, arg = line.partition(" ")
    arg = arg.strip()
    if kind == "include" and os.path.isfile(arg):
        _parse_file(arg, tree, depth + 1)
    elif kind == "includedir" and os.path.isdir(arg):
        for name in sorted(os.listdir(arg)):
            if name.replace("-", "").replace("_", "").isalnum() or name.endswith(".conf"):
                _parse_file(os.path.join(arg, name), tree, depth + 1)
