#!/usr/bin/env python3
"""Generates the table of configuration keys from src/config/configs.def.

Python 3 standard library only. Run by the build:

    gen_config.py --def src/config/configs.def --out build/gen/config/config_table.cc

The data file's format is described at its top: one key per line,

    kind | name | type | default | validator | importance | update mode | synonyms | doc

plus `set NAME = a, b, c` lines that validators and synonyms refer to as `@NAME`. The output
defines samsa::config::generated_broker_config_defs() and generated_topic_config_defs()
(declared in src/config/config_table.h). Every error names the file and line, so a typo in
the data file fails the build instead of shipping a wrong default.
"""
import argparse
import os
import re
import sys

from gen_protocol import write_if_changed  # same directory; keeps an unchanged output's time stamp

TYPES = {"boolean": "BOOLEAN", "string": "STRING", "int": "INT", "short": "SHORT", "long": "LONG",
         "double": "DOUBLE", "list": "LIST", "class": "CLASS", "password": "PASSWORD"}
IMPORTANCE = {"high": "kHigh", "medium": "kMedium", "low": "kLow"}
MODES = {"read-only": "kReadOnly", "per-broker": "kPerBroker", "cluster-wide": "kClusterWide"}
KIND_WORDS = {"gzip level": "kGzipLevel", "throttled replicas": "kThrottledReplicas",
              "non-empty list": "kNonEmptyList", "non-empty string": "kNonEmptyString"}
# The integer types and their Java ranges: a default or bound outside them is a data error.
INT_RANGES = {"SHORT": (-2**15, 2**15 - 1), "INT": (-2**31, 2**31 - 1), "LONG": (-2**63, 2**63 - 1)}


class DefError(Exception):
    pass


def cpp_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def expand(text, sets):
    """A comma-separated list in which `@NAME` stands for a set's items."""
    items = []
    for item in split_list(text):
        if item.startswith("@"):
            if item[1:] not in sets:
                raise DefError(f"unknown set {item}")
            items.extend(sets[item[1:]])
        else:
            items.append(item)
    return items


def parse_int(text, what):
    if not re.fullmatch(r"-?\d+", text):
        raise DefError(f"{what} {text!r} is not an integer")
    return int(text)


def parse_validator(text, sets):
    """Returns (kind, min, max, choices)."""
    if text == "-":
        return ("kNone", None, None, [])
    if text in KIND_WORDS:
        return (KIND_WORDS[text], None, None, [])
    m = re.fullmatch(r">=\s*(\S+)", text)
    if m:
        return ("kRange", parse_int(m.group(1), "bound"), None, [])
    m = re.fullmatch(r"\[\s*(\S+)\s*,\s*(\S+)\s*\]", text)
    if m:
        lo, hi = parse_int(m.group(1), "bound"), parse_int(m.group(2), "bound")
        if lo > hi:
            raise DefError(f"empty range {text}")
        return ("kRange", lo, hi, [])
    m = re.fullmatch(r"(one of|list of|version of)\s+(.+)", text)
    if m:
        choices = expand(m.group(2), sets)
        if not choices:
            raise DefError(f"no choices in {text!r}")
        kind = {"one of": "kOneOf", "list of": "kListOf", "version of": "kMetadataVersion"}[m.group(1)]
        return (kind, None, None, choices)
    raise DefError(f"unknown validator {text!r}")


def check_default(entry):
    """The checks a build can make cheaply; the unit test checks every default with the real validator."""
    default, ctype, (kind, lo, hi, choices) = entry["default"], entry["type"], entry["validator"]
    if default is None:
        return
    if ctype in INT_RANGES:
        value = parse_int(default, "default")
        tmin, tmax = INT_RANGES[ctype]
        if not tmin <= value <= tmax:
            raise DefError(f"default {default} does not fit type {ctype.lower()}")
        if kind == "kRange" and ((lo is not None and value < lo) or (hi is not None and value > hi)):
            raise DefError(f"default {default} is outside its own range")
    if ctype == "BOOLEAN" and default not in ("true", "false"):
        raise DefError(f"boolean default {default!r}")
    if kind in ("kOneOf", "kMetadataVersion") and default not in choices:
        raise DefError(f"default {default!r} is not one of its choices")


def parse(path):
    sets, entries, names = {}, [], set()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            m = re.fullmatch(r"set\s+(\w+)\s*=\s*(.*)", line)
            if m:
                if m.group(1) in sets:
                    raise DefError(f"set {m.group(1)} defined twice")
                sets[m.group(1)] = expand(m.group(2), sets)
                continue
            fields = [f.strip() for f in line.split(" | ")]
            if len(fields) != 9:
                raise DefError(f"expected 9 fields separated by ' | ', found {len(fields)}")
            kind, name, ctype, default, validator, importance, mode, synonyms, doc = fields
            if kind not in ("broker", "topic"):
                raise DefError(f"kind must be broker or topic, not {kind!r}")
            if (kind, name) in names:
                raise DefError(f"{kind} key {name} defined twice")
            names.add((kind, name))
            if ctype not in TYPES:
                raise DefError(f"unknown type {ctype!r}")
            if importance not in IMPORTANCE:
                raise DefError(f"unknown importance {importance!r}")
            if mode not in MODES:
                raise DefError(f"unknown update mode {mode!r}")
            if kind == "topic" and mode != "cluster-wide":
                raise DefError("a topic key's update mode is cluster-wide")
            if not doc:
                raise DefError("missing doc")
            entry = {
                "topic": kind == "topic", "name": name, "type": TYPES[ctype],
                "default": None if default == "null" else ("" if default == '""' else default),
                "validator": parse_validator(validator, sets), "importance": IMPORTANCE[importance],
                "mode": MODES[mode], "synonyms": [] if synonyms == "-" else expand(synonyms, sets),
                "doc": doc,
            }
            check_default(entry)
            entries.append(entry)
        except DefError as e:
            raise DefError(f"{path}:{lineno}: {e}") from None
    return entries


def emit_entry(e):
    kind, lo, hi, choices = e["validator"]
    opt = lambda v: "std::nullopt" if v is None else f"int64_t{{{v}}}"
    default = "std::nullopt" if e["default"] is None else cpp_string(e["default"])
    views = lambda items: "{" + ", ".join(cpp_string(i) for i in items) + "}"
    return "\n".join([
        "      {.name = " + cpp_string(e["name"]) + ",",
        f"       .type = ConfigType::{e['type']},",
        f"       .default_value = {default},",
        f"       .validator = {{ValidatorKind::{kind}, {opt(lo)}, {opt(hi)}, {views(choices)}}},",
        f"       .importance = Importance::{e['importance']},",
        "       .documentation = " + cpp_string(e["doc"]) + ",",
        f"       .is_topic_config = {'true' if e['topic'] else 'false'},",
        f"       .synonyms = {views(e['synonyms'])},",
        f"       .update_mode = UpdateMode::{e['mode']}}},",
    ])


def generate(entries, source):
    out = [
        f"// Generated by tools/gen_config.py from {source}. Do not edit.",
        '#include "config/config_table.h"',
        "",
        "#include <cstdint>",
        "",
        "namespace samsa::config {",
    ]
    for fn, topic in (("generated_broker_config_defs", False), ("generated_topic_config_defs", True)):
        out += ["", f"std::vector<ConfigDef> {fn}() {{", "  return {"]
        out += [emit_entry(e) for e in entries if e["topic"] == topic]
        out += ["  };", "}"]
    out += ["", "}  // namespace samsa::config", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--def", dest="defs", required=True, help="the data file (src/config/configs.def)")
    ap.add_argument("--out", required=True, help="the .cc file to write")
    args = ap.parse_args()
    try:
        entries = parse(args.defs)
    except (DefError, OSError) as e:
        print(f"gen_config: {e}", file=sys.stderr)
        return 1
    write_if_changed(args.out, generate(entries, "src/config/" + os.path.basename(args.defs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
