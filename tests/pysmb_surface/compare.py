"""Compare the pysmb surface recorded by :mod:`tests.pysmb_surface.capture` with the
``smb``/``nmb`` packages importable in this interpreter (this library).

Every difference is a string ``"<where>: <what>"``; ``<where>`` is ``module``,
``module.name``, ``module.Class.attribute`` or ``instance module.Class.attribute``, matched by
the test's allow-list (``fnmatch`` patterns).

Rules (this library may offer more, never less):

* every module pysmb has imports;
* every public name exists, of the same kind; a name pysmb re-exports from another module is
  the very same object here (``same_as``);
* constants have the same value and type;
* a function or method accepts every call pysmb's accepts: the same positional parameters in
  the same order with the same defaults (a default where pysmb has none is fine), the same
  keyword-only ones; parameters this library adds have defaults;
* a class has pysmb's ``smb``/``nmb`` base classes (and builtin exception bases) among its own,
  and every public class attribute (methods, properties, constants) pysmb's has;
* an instance built with the recorded arguments carries every public attribute pysmb's
  carries, holding a value of the same type.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os

from tests.pysmb_surface import capture

DATA = os.path.join(os.path.dirname(__file__), "pysmb-1.2.15.json")


def load():
    with open(DATA) as f:
        return json.load(f)


def resolve(path):
    """``'smb.base.SharedFile'`` -> the object, or raise LookupError."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            raise LookupError(path) from None
        return obj
    raise LookupError(path)


def _fmt(params):
    def one(p):
        name, kind, default = p
        prefix = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(kind, "")
        return prefix + name + ("" if default is None else "=%s" % json.dumps(default))
    return "(%s)" % ", ".join(one(p) for p in params)


_GENERIC_INIT = [["self", "POSITIONAL_ONLY", None], ["args", "VAR_POSITIONAL", None],
                 ["kwargs", "VAR_KEYWORD", None]]


def signature_differences(theirs, ours):
    """Why a call valid for pysmb's signature ``theirs`` may fail with ``ours`` ([] if none)."""
    if theirs is None or theirs == _GENERIC_INIT:
        return []  # no contract (a class without an __init__ of its own, e.g. an exception)
    if ours is None:
        return ["signature not introspectable, pysmb's is %s" % _fmt(theirs)]
    problems = []
    positional = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
    t_pos = [p for p in theirs if p[1] in positional]
    o_pos = [p for p in ours if p[1] in positional]
    o_by_name = {p[0]: p for p in ours}
    o_kinds = {p[1] for p in ours}
    for i, (name, kind, default) in enumerate(t_pos):
        if i >= len(o_pos) or o_pos[i][0] != name:
            if "VAR_POSITIONAL" in o_kinds and "VAR_KEYWORD" in o_kinds:
                continue
            problems.append("positional parameter %d should be %r" % (i, name))
        elif default is not None and o_pos[i][2] != default:
            problems.append("default of %r is %s, pysmb's %s" % (name, json.dumps(o_pos[i][2]),
                                                                 json.dumps(default)))
    for name, kind, default in theirs:
        if kind == "KEYWORD_ONLY":
            mine = o_by_name.get(name)
            if mine is None or mine[1] not in ("KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD"):
                if "VAR_KEYWORD" not in o_kinds:
                    problems.append("keyword parameter %r missing" % name)
            elif default is not None and mine[2] != default:
                problems.append("default of %r differs" % name)
        elif kind in ("VAR_POSITIONAL", "VAR_KEYWORD") and kind not in o_kinds:
            problems.append("no %s parameter" % ("*args" if kind == "VAR_POSITIONAL" else "**kwargs"))
    t_names = {p[0] for p in theirs}
    for name, kind, default in ours:
        if name not in t_names and default is None and kind in positional + ("KEYWORD_ONLY",):
            problems.append("extra parameter %r has no default" % name)
    if problems:
        problems = ["%s; pysmb: %s, ours: %s" % ("; ".join(problems), _fmt(theirs), _fmt(ours))]
    return problems


def _mro_names(cls):
    return {"%s.%s" % (b.__module__, b.__qualname__) for b in cls.__mro__}


def class_differences(where, theirs, cls):
    diffs = []
    mro = set(cls.__mro__)
    for base in theirs["bases"]:
        if base.startswith("builtins."):
            if not any(b.__module__ == "builtins" and b.__qualname__ == base[9:] for b in mro):
                diffs.append("%s: not a subclass of %s" % (where, base[9:]))
            continue
        try:
            if resolve(base) not in mro:
                diffs.append("%s: not a subclass of %s" % (where, base))
        except LookupError:
            diffs.append("%s: base class %s missing" % (where, base))
    if theirs.get("init") is not None:
        for d in signature_differences(theirs["init"], capture.signature(cls.__init__)):
            diffs.append("%s.__init__: %s" % (where, d))
    for name, desc in sorted(theirs["attributes"].items()):
        at = "%s.%s" % (where, name)
        try:
            raw = inspect.getattr_static(cls, name)
        except AttributeError:
            diffs.append("%s: missing" % at)
            continue
        kind = desc["kind"]
        if kind in ("method", "staticmethod", "classmethod"):
            if not callable(getattr(cls, name)):
                diffs.append("%s: not callable" % at)
                continue
            diffs += ["%s: %s" % (at, d) for d in
                      signature_differences(desc["signature"], capture.signature(getattr(cls, name)))]
        elif kind == "constant":
            if not capture._is_constant(raw) or capture._json_value(raw) != desc["value"]:
                diffs.append("%s: value %r, pysmb's %s" % (at, raw, json.dumps(desc["value"])))
    return diffs


def name_differences(module_name, name, desc, ours):
    where = "%s.%s" % (module_name, name)
    kind = desc["kind"]
    if "same_as" in desc:
        try:
            target = resolve(desc["same_as"])
        except LookupError:
            return ["%s: %s (which pysmb re-exports here) is missing" % (where, desc["same_as"])]
        if ours is not target:
            return ["%s: not the same object as %s" % (where, desc["same_as"])]
        return []
    if kind == "module":
        if not inspect.ismodule(ours) or ours.__name__ != desc["name"]:
            return ["%s: should be the module %s" % (where, desc["name"])]
        return []
    if kind == "constant":
        if not capture._is_constant(ours) or capture._json_value(ours) != desc["value"]:
            return ["%s: value %r, pysmb's %s" % (where, ours, json.dumps(desc["value"]))]
        return []
    if kind == "function":
        if not callable(ours) or inspect.isclass(ours):
            return ["%s: should be a function" % where]
        return ["%s: %s" % (where, d) for d in signature_differences(desc["signature"],
                                                                     capture.signature(ours))]
    if kind == "class":
        if not inspect.isclass(ours):
            return ["%s: should be a class" % where]
        return class_differences(where, desc, ours)
    if kind == "object":
        if type(ours).__qualname__ != desc["type"]:
            return ["%s: should be a %s instance" % (where, desc["type"])]
        return []
    return ["%s: unknown kind %s" % (where, kind)]


def differences(data=None):
    data = data or load()
    diffs = []
    for module_name, entry in sorted(data["modules"].items()):
        if "error" in entry:
            diffs.append("%s: pysmb's module could not be imported when captured (%s)"
                         % (module_name, entry["error"]))
            continue
        try:
            mod = importlib.import_module(module_name)
        except ImportError as e:
            diffs.append("%s: module missing (%s)" % (module_name, e))
            continue
        for name, desc in sorted(entry["names"].items()):
            if not hasattr(mod, name):
                diffs.append("%s.%s: missing" % (module_name, name))
                continue
            diffs += name_differences(module_name, name, desc, getattr(mod, name))
    diffs += instance_differences(data["instances"])
    return diffs


def instance_differences(recorded):
    diffs = []
    args_of = {"%s.%s" % (m, c): args for m, c, args in capture.INSTANCES}
    for key, attrs in sorted(recorded.items()):
        try:
            obj = resolve(key)(*args_of[key])
        except Exception as e:  # noqa: BLE001
            diffs.append("instance %s: cannot be built (%s: %s)" % (key, type(e).__name__, e))
            continue
        for name, type_name in sorted(attrs.items()):
            where = "instance %s.%s" % (key, name)
            try:
                value = getattr(obj, name)
            except AttributeError:
                diffs.append("%s: missing" % where)
                continue
            if type(value).__name__ != type_name:
                diffs.append("%s: a %s, pysmb's a %s" % (where, type(value).__name__, type_name))
    return diffs
