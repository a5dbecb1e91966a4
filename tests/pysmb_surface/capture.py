"""Describe the public surface of the ``smb`` and ``nmb`` packages importable in this interpreter.

Run under a virtual environment that has pysmb 1.2.15 installed (and not this project) to
refresh the data file the surface test compares against::

    python3 -m venv /tmp/pysmb-venv && /tmp/pysmb-venv/bin/pip install pysmb==1.2.15
    /tmp/pysmb-venv/bin/python tests/pysmb_surface/capture.py tests/pysmb_surface/pysmb-1.2.15.json

The same :func:`capture` describes this library in the test (``tests/unit/test_pysmb_surface.py``),
so both sides are read by one set of rules:

* a module's public names are those not starting with ``_`` whose value is a constant (int,
  str, bytes, float, bool, None, or a list/tuple/dict/set of those), or a class, function or
  module that belongs to ``smb``/``nmb``; what a module imported from the standard library or a
  third-party package (``os``, ``struct``, ``tqdm``...) is not part of the surface;
* functions and methods are described by their signature (parameter names, kinds, defaults);
* classes by their base classes inside ``smb``/``nmb``, their public class attributes
  (methods, properties, constants) and, for a few classes built with sample arguments
  (:data:`INSTANCES`), the public attributes an instance carries after ``__init__``.

This file only introspects: it never talks to a network and copies nothing of pysmb's code.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import types

#: the modules of pysmb 1.2.15's wheel (SMBProtocol and NetBIOSProtocol need Twisted)
MODULES = [
    "smb", "smb.SMBConnection", "smb.SMBHandler", "smb.SMBProtocol", "smb.base",
    "smb.ntlm", "smb.security_descriptors", "smb.securityblob", "smb.smb2_constants",
    "smb.smb2_structs", "smb.smb_constants", "smb.smb_structs", "smb.strategy", "smb.utils",
    "smb.utils.U32", "smb.utils.md4", "smb.utils.pyDes", "smb.utils.rc4", "smb.utils.sha256",
    "nmb", "nmb.NetBIOS", "nmb.NetBIOSProtocol", "nmb.base", "nmb.nmb_constants",
    "nmb.nmb_structs", "nmb.utils",
]

#: classes instantiated to record their instance attributes: (module, class, args)
INSTANCES = [
    ("smb.SMBConnection", "SMBConnection", ["user", "secret", "client", "server"]),
    ("smb.base", "SharedDevice", [0, "share", "comment"]),
    ("smb.base", "SharedFile", [0.0, 0.0, 0.0, 0.0, 0, 0, 0x20, "", "f.txt"]),
    ("smb.smb_structs", "SMBMessage", []),
    ("smb.smb2_structs", "SMB2Message", []),
    ("smb.smb_structs", "OperationFailure", ["failed", []]),
    ("smb.smb_structs", "ProtocolError", ["bad"]),
]

_SCALARS = (int, str, bytes, float, bool, type(None))
_OURS = ("smb", "nmb")


def _ours(module_name) -> bool:
    return bool(module_name) and module_name.split(".")[0] in _OURS


def _is_constant(value) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_constant(v) for v in value)
    if isinstance(value, dict):
        return all(_is_constant(k) and _is_constant(v) for k, v in value.items())
    return False


def _json_value(value):
    """A JSON form of a constant that keeps its type (``None`` is ``{"None": true}``, so that
    null can stand for "no default" in signatures)."""
    if value is None:
        return {"None": True}
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, dict):
        return {"dict": sorted([[_json_value(k), _json_value(v)] for k, v in value.items()], key=repr)}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted([_json_value(v) for v in value], key=repr)}
    return {type(value).__name__: [_json_value(v) for v in value]}


def _default(value):
    if value is inspect.Parameter.empty:
        return None
    if _is_constant(value):
        return _json_value(value)
    return {"object": type(value).__name__}


def signature(func):
    """``[[name, kind, default], ...]`` (default None when there is none), or None."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    return [[p.name, p.kind.name, _default(p.default)] for p in sig.parameters.values()]


def _describe_class_attr(cls, name):
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, property):
        return {"kind": "property"}
    if isinstance(raw, (staticmethod, classmethod)):
        return {"kind": type(raw).__name__, "signature": signature(getattr(cls, name))}
    if inspect.isfunction(raw):
        return {"kind": "method", "signature": signature(raw)}
    if inspect.isclass(raw):
        return {"kind": "class", "name": raw.__qualname__} if _ours(raw.__module__) else None
    if _is_constant(raw):
        return {"kind": "constant", "value": _json_value(raw)}
    return None  # loggers, descriptors of builtins...


def _defined_by_us(cls, name) -> bool:
    """True when the class that defines ``name`` for ``cls`` belongs to smb/nmb (attributes
    inherited from pyasn1, Exception or object are not this surface)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return _ours(klass.__module__)
    return False


def describe_class(cls):
    attrs = {}
    for name in dir(cls):
        if name.startswith("_") or not _defined_by_us(cls, name):
            continue
        desc = _describe_class_attr(cls, name)
        if desc is not None:
            attrs[name] = desc
    bases = ["%s.%s" % (b.__module__, b.__qualname__) for b in cls.__mro__[1:]
             if _ours(b.__module__) or b.__module__ == "builtins" and b is not object]
    return {"kind": "class", "bases": bases, "init": signature(cls.__init__)
            if "__init__" in cls.__dict__ or any("__init__" in b.__dict__ for b in cls.__mro__[1:-1]) else None,
            "attributes": attrs}


def describe(value, module_name=None):
    """The description of one module-level value; a class or function defined in another
    module than ``module_name`` is described there and referred to here (``same_as``)."""
    if isinstance(value, types.ModuleType):
        return {"kind": "module", "name": value.__name__} if _ours(value.__name__) else None
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        home = getattr(value, "__module__", "")
        if not _ours(home):
            return None
        kind = "class" if inspect.isclass(value) else "function"
        if module_name is not None and home != module_name:
            return {"kind": kind, "same_as": "%s.%s" % (home, value.__qualname__)}
        if kind == "class":
            return describe_class(value)
        return {"kind": "function", "signature": signature(value)}
    if _is_constant(value):
        return {"kind": "constant", "value": _json_value(value)}
    if _ours(type(value).__module__):
        return {"kind": "object", "type": type(value).__qualname__}
    return None


def capture_module(mod):
    names = {}
    for name in dir(mod):
        if name.startswith("_"):
            continue
        value = getattr(mod, name)
        if isinstance(value, types.ModuleType) and value.__name__ == "%s.%s" % (mod.__name__, name):
            continue  # a submodule: an attribute only once imported; MODULES lists them
        desc = describe(value, mod.__name__)
        if desc is not None:
            names[name] = desc
    return names


def capture_instances():
    out = {}
    for module_name, class_name, args in INSTANCES:
        key = "%s.%s" % (module_name, class_name)
        try:
            obj = getattr(importlib.import_module(module_name), class_name)(*args)
        except Exception as e:  # noqa: BLE001 - recorded, compared as a difference
            out[key] = {"error": "%s: %s" % (type(e).__name__, e)}
            continue
        out[key] = {name: type(value).__name__ for name, value in vars(obj).items()
                    if not name.startswith("_")}
    return out


def capture(modules=MODULES):
    result = {"modules": {}, "instances": {}}
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except Exception as e:  # noqa: BLE001
            result["modules"][name] = {"error": "%s: %s" % (type(e).__name__, e)}
            continue
        result["modules"][name] = {"names": capture_module(mod)}
    result["instances"] = capture_instances()
    return result


def main(argv):
    data = capture()
    try:
        import importlib.metadata as md

        data["version"] = md.version("pysmb")
    except Exception:  # noqa: BLE001
        data["version"] = None
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if len(argv) > 1:
        with open(argv[1], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
