"""How the command line shows shares and files: ``ls -l``-like lines and JSON records.

JSON keys are stable (scripts rely on them): for files and folders ``name``, ``path``,
``type`` (``"file"`` or ``"directory"``), ``size``, ``allocation_size``, ``attributes``
(the [MS-FSCC] 2.6 bits as an int), ``attribute_names`` (``smb_constants.ATTR_*`` names
without the prefix), ``created``, ``modified``, ``accessed`` and ``changed`` (ISO 8601,
UTC); for shares ``name``, ``type`` (``"disk"``, ``"printer"``, ``"device"``, ``"ipc"``),
``special``, ``temporary`` and ``comment``.
"""

from __future__ import annotations

import datetime
import json
from typing import Iterable, List

from smb import smb_constants
from smb.base import SharedDevice, SharedFile

ATTRIBUTE_NAMES = sorted((value, name[len("ATTR_"):]) for name, value in vars(smb_constants).items()
                         if name.startswith("ATTR_") and isinstance(value, int))
SHARE_TYPES = {SharedDevice.DISK_TREE: "disk", SharedDevice.PRINT_QUEUE: "printer",
               SharedDevice.COMM_DEVICE: "device", SharedDevice.IPC: "ipc"}
# the attribute letters of the long format, after the type letter ('d' or '-')
_LETTERS = ((smb_constants.ATTR_READONLY, "r"), (smb_constants.ATTR_HIDDEN, "h"),
            (smb_constants.ATTR_SYSTEM, "s"), (smb_constants.ATTR_ARCHIVE, "a"))


def attribute_names(attributes: int) -> List[str]:
    return [name for value, name in ATTRIBUTE_NAMES if attributes & value]


def iso_utc(epoch: float) -> str:
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(seconds=epoch)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def file_record(f: SharedFile, path: str) -> dict:
    """The JSON record of one file or folder; ``path`` is its path in the share."""
    return {
        "name": f.filename, "path": "/" + path, "type": "directory" if f.isDirectory else "file",
        "size": f.file_size, "allocation_size": f.alloc_size, "attributes": f.file_attributes,
        "attribute_names": attribute_names(f.file_attributes),
        "created": iso_utc(f.create_time), "modified": iso_utc(f.last_write_time),
        "accessed": iso_utc(f.last_access_time), "changed": iso_utc(f.last_attr_change_time),
    }


def share_record(s: SharedDevice) -> dict:
    return {"name": s.name, "type": SHARE_TYPES.get(s.type, "unknown"), "special": s.isSpecial,
            "temporary": s.isTemporary, "comment": s.comments}


def dumps(records) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False)


def mode_string(attributes: int) -> str:
    kind = "d" if attributes & smb_constants.ATTR_DIRECTORY else "-"
    return kind + "".join(letter if attributes & bit else "-" for bit, letter in _LETTERS)


def long_lines(files: Iterable[SharedFile]) -> List[str]:
    """``ls -l``-like lines: attributes, size, modification time (local), name."""
    files = list(files)
    width = max([len(str(f.file_size)) for f in files] or [1])
    return ["%s %*d %s %s" % (mode_string(f.file_attributes), width, f.file_size,
                              _local_time(f.last_write_time), f.filename) for f in files]


def _local_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def share_lines(shares: Iterable[SharedDevice]) -> List[str]:
    shares = list(shares)
    width = max([len(s.name) for s in shares] or [1])
    return ["%-*s  %-7s  %s" % (width, s.name, SHARE_TYPES.get(s.type, "unknown"), s.comments)
            for s in shares]


def stat_lines(f: SharedFile, path: str) -> List[str]:
    r = file_record(f, path)
    names = " ".join(r["attribute_names"]) or "-"
    return ["path:        %s" % r["path"], "type:        %s" % r["type"],
            "size:        %d" % r["size"], "allocated:   %d" % r["allocation_size"],
            "attributes:  0x%08x %s" % (r["attributes"], names),
            "created:     %s" % r["created"], "modified:    %s" % r["modified"],
            "accessed:    %s" % r["accessed"], "changed:     %s" % r["changed"]]
