#!/usr/bin/env python3
"""Generates C++ request/response types for the Kafka APIs described in schemas/*.api.

Python 3 standard library only. Run by the build:

    gen_protocol.py --schemas DIR --out DIR [--tests FILE]

The schema language (see schemas/README.md) is line based:

    api Produce key 0 versions 0-9 flexible 9+
    request
      transactional_id    string    3+  null:3+
      acks                int16
      topic_data          []TopicData
        name              string
    response
      throttle_time_ms    int32     1+  =0

A field line is `name type [versions] [null:versions] [tag:N] [=default]`, indented
two spaces per nesting level. Versions are `N+`, `N-M` or `N`; omitted means all.
"""
import argparse
import os
import re
import sys

PRIMS = {
    # type: (c++ type, reader call, writer call, classic min size, flexible min size, default)
    "bool": ("bool", "r.boolean()", "w.boolean({x})", 1, 1, "false"),
    "int8": ("int8_t", "r.i8()", "w.i8({x})", 1, 1, "0"),
    "int16": ("int16_t", "r.i16()", "w.i16({x})", 2, 2, "0"),
    "int32": ("int32_t", "r.i32()", "w.i32({x})", 4, 4, "0"),
    "int64": ("int64_t", "r.i64()", "w.i64({x})", 8, 8, "0"),
    "uint16": ("uint16_t", "r.u16()", "w.u16({x})", 2, 2, "0"),
    "uint32": ("uint32_t", "r.u32()", "w.u32({x})", 4, 4, "0"),
    "float64": ("double", "r.f64()", "w.f64({x})", 8, 8, "0"),
    "uuid": ("Uuid", "r.uuid()", "w.uuid({x})", 16, 16, "{}"),
    "string": ("std::string", "r.string(flex)", "w.string(flex, {x})", 2, 1, None),
    "bytes": ("Bytes", "r.bytes(flex)", "w.bytes(flex, {x})", 4, 1, None),
    "records": ("Records", "r.records(flex)", "w.records(flex, {x})", 4, 1, None),
}
NULLABLE_PRIMS = {
    "string": ("std::optional<std::string>", "r.nstring(flex)", "w.nstring(flex, {x})"),
    "bytes": ("std::optional<Bytes>", "r.nbytes(flex)", "w.nbytes(flex, {x})"),
    "records": ("Records", "r.records(flex)", "w.records(flex, {x})"),
}
MAX_VERSION = 0x7FFF
# Listener scopes of an API (Kafka's "listeners"), as bits of ApiInfo::listeners.
LISTENERS = {"broker": 1, "controller": 2}


class SchemaError(Exception):
    pass


class VRange:
    def __init__(self, lo=0, hi=MAX_VERSION):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text):
        m = re.fullmatch(r"(\d+)\+", text)
        if m:
            return VRange(int(m.group(1)))
        m = re.fullmatch(r"(\d+)-(\d+)", text)
        if m:
            return VRange(int(m.group(1)), int(m.group(2)))
        m = re.fullmatch(r"(\d+)", text)
        if m:
            return VRange(int(m.group(1)), int(m.group(1)))
        if text == "none":
            return None
        raise SchemaError(f"bad version range {text!r}")

    def cond(self, var="v"):
        parts = []
        if self.lo > 0:
            parts.append(f"{var} >= {self.lo}")
        if self.hi < MAX_VERSION:
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"

    def contains(self, v):
        return self.lo <= v <= self.hi


class Field:
    def __init__(self, name, typ, versions, nullable, tag, default, line):
        self.name, self.typ, self.versions = name, typ, versions
        self.nullable, self.tag, self.default, self.line = nullable, tag, default, line
        self.children = []  # for struct types
        self.struct = None  # Struct for struct / []struct types

    @property
    def is_array(self):
        return self.typ.startswith("[]")

    @property
    def elem(self):
        return self.typ[2:] if self.is_array else self.typ

    @property
    def elem_is_struct(self):
        return self.elem not in PRIMS


class Struct:
    def __init__(self, name, fields):
        self.name, self.fields = name, fields


class Api:
    def __init__(self, name, key, versions, flexible):
        self.name, self.key, self.versions, self.flexible = name, key, versions, flexible
        self.request = []
        self.response = []
        self.kind = "api"  # or "metadata" / "control" for a KRaft record (schemas/kraft/*.rec)
        self.listeners = ["broker"]  # where Kafka serves the API: broker and/or controller listeners


def parse_schema(path):
    api = None
    section = None
    stack = []  # stack[i]: the field list that fields at nesting level i go into
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        indent = len(line) - len(line.lstrip(" "))
        toks = line.split()
        if indent == 0:
            if toks[0] == "api":
                m = re.fullmatch(r"api (\w+) key (\d+) versions (\S+) flexible (\S+)(?: listeners (\S+))?",
                                 " ".join(toks))
                if not m:
                    raise SchemaError(f"{where}: expected 'api NAME key N versions A-B flexible F+|none"
                                      " [listeners broker,controller]'")
                api = Api(m.group(1), int(m.group(2)), VRange.parse(m.group(3)), VRange.parse(m.group(4)))
                if m.group(5):
                    api.listeners = m.group(5).split(",")
                    if not api.listeners or any(x not in LISTENERS for x in api.listeners):
                        raise SchemaError(f"{where}: listeners must be broker and/or controller")
            elif toks[0] == "record":
                # A KRaft record: one message whose fields follow directly (see tools/gen_records.py).
                m = re.fullmatch(r"record (\w+) (metadata|control) (\d+) versions (\S+) flexible (\S+)", " ".join(toks))
                if not m:
                    raise SchemaError(f"{where}: expected 'record NAME metadata|control N versions A-B flexible F+'")
                api = Api(m.group(1), int(m.group(3)), VRange.parse(m.group(4)), VRange.parse(m.group(5)))
                api.kind = m.group(2)
                section = "request"
                stack = [api.request]
            elif toks[0] in ("request", "response") and len(toks) == 1:
                if api is None:
                    raise SchemaError(f"{where}: section before 'api' line")
                section = toks[0]
                stack = [getattr(api, section)]
            else:
                raise SchemaError(f"{where}: unexpected {toks[0]!r}")
            continue
        if section is None:
            raise SchemaError(f"{where}: field outside a section")
        if indent % 2:
            raise SchemaError(f"{where}: indentation must be a multiple of two spaces")
        level = indent // 2 - 1
        if level + 1 > len(stack):
            raise SchemaError(f"{where}: unexpected indentation")
        del stack[level + 1:]
        name, typ = toks[0], toks[1] if len(toks) > 1 else None
        if typ is None:
            raise SchemaError(f"{where}: field needs a type")
        versions, nullable, tag, default = VRange(), None, None, None
        for t in toks[2:]:
            if t.startswith("null:"):
                nullable = VRange.parse(t[5:])
            elif t.startswith("tag:"):
                tag = int(t[4:])
            elif t.startswith("="):
                default = t[1:]
            else:
                versions = VRange.parse(t)
        fld = Field(name, typ, versions, nullable, tag, default, where)
        elem = fld.elem
        if elem not in PRIMS and not re.fullmatch(r"[A-Z]\w*", elem):
            raise SchemaError(f"{where}: unknown type {typ!r}")
        if nullable and not (fld.is_array or elem in NULLABLE_PRIMS or fld.elem_is_struct):
            raise SchemaError(f"{where}: only strings, bytes, records, arrays and structs can be nullable")
        if tag is not None and (api.flexible is None):
            raise SchemaError(f"{where}: tagged field in an API without flexible versions")
        stack[level].append(fld)
        if fld.elem_is_struct:
            stack.append(fld.children)
    if api is None:
        raise SchemaError(f"{path}: no 'api' line")
    return api


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def cpp_value_type(f):
    if f.elem_is_struct:
        t = f.elem
    elif f.nullable and not f.is_array and f.elem in NULLABLE_PRIMS:
        t = NULLABLE_PRIMS[f.elem][0]
    else:
        t = PRIMS[f.elem][0]
    if f.is_array:
        t = f"std::vector<{t}>"
        if f.nullable:
            t = f"std::optional<{t}>"
    elif f.elem_is_struct and f.nullable:
        t = f"std::optional<{t}>"  # a nullable struct: int8 -1 (null) or 1, then the fields
    return t


def cpp_default(f):
    if f.elem_is_struct and f.nullable and not f.is_array:
        return "{std::nullopt}"
    if f.is_array or f.elem_is_struct:
        return "{}"
    if f.default is None:
        d = PRIMS[f.elem][5]
        return f" = {d}" if d not in (None, "{}") else "{}"
    d = f.default
    if d == "null":
        if f.elem == "records":
            return "{Records::null()}"
        return "{std::nullopt}"
    if f.elem == "string":
        return " = " + ('"' + d.strip('"') + '"')
    if f.elem == "bool":
        return " = " + d
    if f.elem in ("int8", "int16", "int32", "int64", "uint16", "uint32", "float64"):
        return f" = {d}"
    raise SchemaError(f"{f.line}: unsupported default for {f.typ}")


class Gen:
    def __init__(self, api):
        self.api = api
        self.structs = {}  # name -> fields, for this API (per message)

    def flex_cond(self):
        fl = self.api.flexible
        return "false" if fl is None else fl.cond()

    def collect(self, fields, out, msg):
        for f in fields:
            if f.elem_is_struct:
                if not f.children and f.elem in (s.name for s in out):
                    continue  # a second field of a struct type defined earlier in the message
                if not f.children:
                    raise SchemaError(f"{f.line}: struct {f.elem} has no fields")
                self.collect(f.children, out, msg)
                if f.elem in (s.name for s in out):
                    raise SchemaError(f"{f.line}: struct name {f.elem} used twice in {msg}")
                out.append(Struct(f.elem, f.children))

    def present(self, f):
        return f.versions.cond()

    # ---- decode -------------------------------------------------------------------
    def decode_value(self, f, target, ind):
        o = []
        if f.is_array:
            elem_cpp = f.elem if f.elem_is_struct else PRIMS[f.elem][0]
            minsz = (f"{f.elem}::min_size(v)" if f.elem_is_struct
                     else f"(flex ? {PRIMS[f.elem][4]} : {PRIMS[f.elem][3]})")
            o.append(f"{ind}{{")
            o.append(f"{ind}  int32_t n = r.array_count(flex, {minsz});")
            vec = target
            if f.nullable:
                o.append(f"{ind}  if (n < 0) {{ {target}.reset(); }} else {{")
                o.append(f"{ind}  {target}.emplace();")
                vec = f"(*{target})"
            else:
                o.append(f"{ind}  {{")
            o.append(f"{ind}  {vec}.clear();")
            o.append(f"{ind}  for (int32_t i = 0; i < n && r.ok(); ++i) {{")
            if f.elem_is_struct:
                o.append(f"{ind}    {vec}.emplace_back().decode(r, v);")
            else:
                o.append(f"{ind}    {vec}.push_back({PRIMS[f.elem][1]});")
            o.append(f"{ind}  }}")
            o.append(f"{ind}  }}")
            o.append(f"{ind}}}")
        elif f.elem_is_struct and f.nullable:
            nv = f.nullable.cond()
            # Decoded into a local then moved in: clang refuses optional<Nested>::emplace() of a
            # nested struct whose default member initializers it judged while the enclosing class
            # was incomplete.
            o.append(f"{ind}if (({nv}) && r.i8() < 0) {{ {target}.reset(); }} else {{")
            o.append(f"{ind}  std::remove_cvref_t<decltype({target})>::value_type e_{{}};")
            o.append(f"{ind}  e_.decode(r, v);")
            o.append(f"{ind}  {target} = std::move(e_);")
            o.append(f"{ind}}}")
        elif f.elem_is_struct:
            o.append(f"{ind}{target}.decode(r, v);")
        elif f.nullable and f.elem in NULLABLE_PRIMS:
            o.append(f"{ind}{target} = {NULLABLE_PRIMS[f.elem][1]};")
        else:
            o.append(f"{ind}{target} = {PRIMS[f.elem][1]};")
        return o

    def encode_value(self, f, src, ind, version_var="v"):
        o = []
        if f.is_array:
            if f.nullable:
                nv = f.nullable.cond()
                o.append(f"{ind}if (!{src}.has_value() && ({nv})) {{ w.array_count(flex, -1); }} else {{")
                o.append(f"{ind}  static const {cpp_value_type(f)}::value_type empty_;")
                o.append(f"{ind}  const auto& vec_ = {src}.has_value() ? *{src} : empty_;")
            else:
                o.append(f"{ind}{{")
                o.append(f"{ind}  const auto& vec_ = {src};")
            o.append(f"{ind}  w.array_count(flex, static_cast<int64_t>(vec_.size()));")
            o.append(f"{ind}  for (const auto& e_ : vec_) {{")
            if f.elem_is_struct:
                o.append(f"{ind}    e_.encode(w, v);")
            else:
                o.append(f"{ind}    {PRIMS[f.elem][2].format(x='e_')};")
            o.append(f"{ind}  }}")
            o.append(f"{ind}}}")
        elif f.elem_is_struct and f.nullable:
            nv = f.nullable.cond()
            o.append(f"{ind}if ({nv}) w.i8({src}.has_value() ? 1 : -1);")
            o.append(f"{ind}if ({src}.has_value()) {src}->encode(w, v); else if (!({nv})) decltype({src})::value_type{{}}.encode(w, v);")
        elif f.elem_is_struct:
            o.append(f"{ind}{src}.encode(w, v);")
        elif f.nullable and f.elem in NULLABLE_PRIMS and f.elem != "records":
            nv = f.nullable.cond()
            if f.elem == "string":
                o.append(f"{ind}if ({src}.has_value() || ({nv})) w.nstring(flex, {src}); else w.string(flex, \"\");")
            else:
                o.append(f"{ind}if ({src}.has_value() || ({nv})) w.nbytes(flex, {src}); else w.bytes(flex, Bytes{{}});")
        else:
            o.append(f"{ind}{PRIMS[f.elem][2].format(x=src)};")
        return o

    def is_default_expr(self, f, src):
        if f.is_array:
            if f.nullable:
                return f"!{src}.has_value()" if f.default == "null" else f"({src}.has_value() && {src}->empty())"
            return f"{src}.empty()"
        if f.elem_is_struct and f.nullable:
            return f"!{src}.has_value()"
        if f.elem_is_struct:
            return f"{src} == decltype({src}){{}}"
        if f.elem == "records":
            return f"{src}.size() == 0"
        if f.nullable:
            return f"!{src}.has_value()" if f.default == "null" else f"({src}.has_value() && {src}->empty())"
        if f.elem in ("string", "bytes"):
            if f.default is not None and f.elem == "string":
                return f'{src} == "{f.default.strip(chr(34))}"'
            return f"{src}.empty()"
        if f.elem == "uuid":
            return f"{src} == Uuid{{}}"
        d = f.default if f.default is not None else PRIMS[f.elem][5]
        return f"{src} == {d}"

    def struct_body(self, s, decl, defn, qual):
        # declaration
        decl.append(f"  struct {s.name} {{")
        for f in s.fields:
            decl.append(f"    {cpp_value_type(f)} {f.name}{cpp_default(f)};")
        decl.append("    TaggedFields unknown_tagged_fields;")
        decl.append(f"    bool operator==(const {s.name}&) const = default;")
        decl.append("    void encode(Writer& w, int16_t v) const;")
        decl.append("    void decode(Reader& r, int16_t v);")
        decl.append("    static size_t min_size(int16_t v);")
        decl.append("  };")
        self.functions(f"{qual}::{s.name}", s.fields, defn)

    def functions(self, qname, fields, defn):
        fc = self.flex_cond()
        regular = [f for f in fields if f.tag is None]
        tagged = sorted([f for f in fields if f.tag is not None], key=lambda f: f.tag)
        # encode
        defn.append(f"void {qname}::encode(Writer& w, int16_t v) const {{")
        defn.append(f"  const bool flex = {fc};")
        defn.append("  (void)flex;")
        for f in regular:
            defn.append(f"  if ({self.present(f)}) {{")
            defn += self.encode_value(f, f.name, "    ")
            defn.append("  }")
        defn.append("  if (flex) {")
        defn.append("    uint32_t count_ = static_cast<uint32_t>(unknown_tagged_fields.size());")
        for f in tagged:
            defn.append(f"    const bool has_{f.name}_ = ({self.present(f)}) && !({self.is_default_expr(f, f.name)});")
            defn.append(f"    if (has_{f.name}_) ++count_;")
        defn.append("    w.uvarint(count_);")
        # known and unknown tags must be written in ascending tag order
        defn.append("    size_t unknown_i_ = 0;")
        defn.append("    auto flush_unknown_ = [&](uint32_t below) {")
        defn.append("      while (unknown_i_ < unknown_tagged_fields.size() && unknown_tagged_fields[unknown_i_].tag < below) {")
        defn.append("        const auto& t_ = unknown_tagged_fields[unknown_i_++];")
        defn.append("        w.uvarint(t_.tag); w.uvarint(static_cast<uint32_t>(t_.data.size())); w.raw(t_.data);")
        defn.append("      }")
        defn.append("    };")
        for f in tagged:
            defn.append(f"    if (has_{f.name}_) {{")
            defn.append(f"      flush_unknown_({f.tag});")
            defn.append("      Writer tw_;")
            defn.append("      {")
            defn.append("        Writer& outer_ = w; (void)outer_;")
            defn.append("        Writer& w = tw_;")
            defn += self.encode_value(f, f.name, "        ")
            defn.append("      }")
            defn.append(f"      w.uvarint({f.tag}); w.uvarint(static_cast<uint32_t>(tw_.size())); w.raw(tw_.buffer());")
            defn.append("    }")
        defn.append("    flush_unknown_(UINT32_MAX);")
        defn.append("  }")
        defn.append("}")
        defn.append("")
        # decode
        defn.append(f"void {qname}::decode(Reader& r, int16_t v) {{")
        defn.append(f"  const bool flex = {fc};")
        defn.append("  (void)flex;")
        for f in regular:
            defn.append(f"  if ({self.present(f)}) {{")
            defn += self.decode_value(f, f.name, "    ")
            defn.append("  }")
        defn.append("  if (flex) {")
        defn.append("    uint32_t count_ = r.uvarint();")
        defn.append("    if (count_ > r.remaining()) { r.fail(); return; }")
        defn.append("    for (uint32_t i_ = 0; i_ < count_ && r.ok(); ++i_) {")
        defn.append("      uint32_t tag_ = r.uvarint();")
        defn.append("      uint32_t size_ = r.uvarint();")
        defn.append("      auto data_ = r.raw(size_);")
        defn.append("      if (!r.ok()) return;")
        defn.append("      switch (tag_) {")
        for f in tagged:
            defn.append(f"        case {f.tag}: if ({self.present(f)}) {{")
            defn.append("          Reader sub_(data_);")
            defn.append("          Reader& outer_ = r;")
            defn.append("          {")
            defn.append("            Reader& r = sub_;")
            defn += self.decode_value(f, f.name, "            ")
            defn.append("          }")
            defn.append("          if (!sub_.ok()) outer_.fail();")
            defn.append("          break;")
            defn.append("        } [[fallthrough]];")
        defn.append("        default:")
        defn.append("          unknown_tagged_fields.push_back(TaggedField{tag_, Bytes(data_.begin(), data_.end())});")
        defn.append("      }")
        defn.append("    }")
        defn.append("  }")
        defn.append("}")
        defn.append("")
        # min size: lower bound of the encoded size, to bound array counts
        defn.append(f"size_t {qname}::min_size(int16_t v) {{")
        defn.append(f"  const bool flex = {fc};")
        defn.append("  size_t n = flex ? 1 : 0;")
        for f in regular:
            if f.is_array:
                sz = "(flex ? 1 : 4)"
            elif f.elem_is_struct and f.nullable:
                sz = "1"
            elif f.elem_is_struct:
                sz = f"{f.elem}::min_size(v)"
            else:
                sz = f"(flex ? {PRIMS[f.elem][4]} : {PRIMS[f.elem][3]})"
            defn.append(f"  if ({self.present(f)}) n += {sz};")
        defn.append("  return n;")
        defn.append("}")
        defn.append("")

    def message(self, kind, fields, hdr, src):
        name = f"{self.api.name}{kind}"
        structs = []
        self.collect(fields, structs, name)
        hdr.append(f"struct {name} {{")
        hdr.append(f"  static constexpr int16_t api_key = {self.api.key};")
        hdr.append(f"  static constexpr int16_t min_version = {self.api.versions.lo};")
        hdr.append(f"  static constexpr int16_t max_version = {self.api.versions.hi};")
        fl = self.api.flexible
        hdr.append(f"  static constexpr int16_t first_flexible_version = {fl.lo if fl else -1};")
        hdr.append(f"  static bool is_flexible(int16_t v) {{ return {self.flex_cond()}; }}")
        for s in structs:
            self.struct_body(s, hdr, src, name)
        for f in fields:
            hdr.append(f"  {cpp_value_type(f)} {f.name}{cpp_default(f)};")
        hdr.append("  TaggedFields unknown_tagged_fields;")
        hdr.append(f"  bool operator==(const {name}&) const = default;")
        hdr.append("  void encode(Writer& w, int16_t v) const;")
        hdr.append("  void decode(Reader& r, int16_t v);")
        hdr.append("  static size_t min_size(int16_t v);")
        hdr.append("};")
        hdr.append("")
        self.functions(name, fields, src)

    # ---- test filler -----------------------------------------------------------------
    def fill_fn(self, qname, fields, out):
        out.append(f"[[maybe_unused]] void fill({qname}& m, int16_t v, Rng& g, int depth) {{")
        out.append("  (void)v; (void)g; (void)depth;")
        for f in fields:
            nul = f.nullable.cond() if f.nullable else "false"
            out.append(f"  if ({self.present(f)}) {{")
            if f.is_array:
                elem = f.elem if f.elem_is_struct else PRIMS[f.elem][0]
                qelem = f"{qname}::{f.elem}" if f.elem_is_struct else elem
                qelem = qelem.split("::")[0] + "::" + f.elem if f.elem_is_struct else elem
                out.append(f"    if (({nul}) && g.next() % 4 == 0) {{ {'m.' + f.name + '.reset();' if f.nullable else ''} }} else {{")
                out.append(f"      std::vector<{qelem}> vec_;")
                out.append("      size_t n_ = depth > 3 ? 0 : g.next() % 3;")
                out.append("      for (size_t i_ = 0; i_ < n_; ++i_) {")
                if f.elem_is_struct:
                    out.append(f"        {qelem} e_{{}}; fill(e_, v, g, depth + 1); vec_.push_back(std::move(e_));")
                else:
                    out.append(f"        {elem} e_{{}}; fill_prim(e_, g); vec_.push_back(std::move(e_));")
                out.append("      }")
                out.append(f"      m.{f.name} = std::move(vec_);")
                out.append("    }")
            elif f.elem_is_struct and f.nullable:
                out.append(f"    if (({nul}) && g.next() % 4 == 0) {{ m.{f.name}.reset(); }} else {{")
                out.append(f"      std::remove_cvref_t<decltype(m.{f.name})>::value_type e_{{}};")
                out.append(f"      fill(e_, v, g, depth + 1);")
                out.append(f"      m.{f.name} = std::move(e_);")
                out.append("    }")
            elif f.elem_is_struct:
                out.append(f"    fill(m.{f.name}, v, g, depth + 1);")
            elif f.nullable and f.elem in NULLABLE_PRIMS:
                if f.elem == "records":
                    out.append(f"    if (({nul}) && g.next() % 4 == 0) m.{f.name} = Records::null(); else fill_prim(m.{f.name}, g);")
                else:
                    base = PRIMS[f.elem][0]
                    out.append(f"    if (({nul}) && g.next() % 4 == 0) m.{f.name}.reset(); else {{ {base} t_{{}}; fill_prim(t_, g); m.{f.name} = t_; }}")
            else:
                out.append(f"    fill_prim(m.{f.name}, g);")
            out.append("  }")
        out.append("}")
        out.append("")


def emit_api(api, out_dir):
    g = Gen(api)
    base = snake(api.name)
    hdr = [
        "// Generated by tools/gen_protocol.py from schemas/" + base + ".api. Do not edit.",
        "#pragma once",
        "#include <cstdint>",
        "#include <optional>",
        "#include <string>",
        "#include <vector>",
        '#include "protocol/wire.h"',
        "",
        "namespace samsa::protocol {",
        "",
    ]
    src = [
        "// Generated by tools/gen_protocol.py. Do not edit.",
        f'#include "protocol/messages/{base}.h"',
        "",
        "namespace samsa::protocol {",
        "",
    ]
    g.message("Request", api.request, hdr, src)
    g.message("Response", api.response, hdr, src)
    hdr.append("}  // namespace samsa::protocol")
    src.append("}  // namespace samsa::protocol")
    write_if_changed(os.path.join(out_dir, "protocol", "messages", base + ".h"), "\n".join(hdr) + "\n")
    write_if_changed(os.path.join(out_dir, "protocol", "messages", base + ".cc"), "\n".join(src) + "\n")


# The generated round-trip tests' value fillers and check (shared with tools/gen_records.py).
TEST_FILLERS = [
    "struct Rng { std::mt19937_64 e{42}; uint64_t next() { return e(); } };",
    "[[maybe_unused]] void fill_prim(bool& x, Rng& g) { x = g.next() & 1; }",
    "template <typename T> requires std::is_integral_v<T> void fill_prim(T& x, Rng& g) { x = static_cast<T>(g.next()); }",
    "[[maybe_unused]] void fill_prim(double& x, Rng& g) { x = static_cast<double>(g.next() % 1000) / 8.0; }",
    "[[maybe_unused]] void fill_prim(Uuid& x, Rng& g) { for (auto& b : x) b = static_cast<uint8_t>(g.next()); }",
    "[[maybe_unused]] void fill_prim(std::string& x, Rng& g) { x.assign(g.next() % 12, static_cast<char>('a' + g.next() % 26)); }",
    "[[maybe_unused]] void fill_prim(Bytes& x, Rng& g) { x.resize(g.next() % 12); for (auto& b : x) b = static_cast<uint8_t>(g.next()); }",
    "[[maybe_unused]] void fill_prim(Records& x, Rng& g) { x = Records{}; fill_prim(x.owned, g); if (x.owned.empty()) x.owned.push_back(1); }",
]
ROUND_TRIP_TEST = [
    "template <typename T>",
    "void round_trip(int16_t lo, int16_t hi) {",
    "  for (int16_t v = lo; v <= hi; ++v) {",
    "    for (int seed = 0; seed < 8; ++seed) {",
    "      Rng g; g.e.seed(static_cast<uint64_t>(seed * 1000 + v));",
    "      T a{}; fill(a, v, g, 0);",
    "      Writer w; a.encode(w, v);",
    "      Reader r(w.buffer().data(), w.buffer().size());",
    "      T b{}; b.decode(r, v);",
    "      ASSERT_TRUE(r.ok()) << \"decode failed at version \" << v;",
    "      ASSERT_EQ(r.remaining(), 0u) << \"trailing bytes at version \" << v;",
    "      Writer w2; b.encode(w2, v);",
    "      ASSERT_EQ(w.buffer(), w2.buffer()) << \"re-encode differs at version \" << v;",
    "      ASSERT_TRUE(a == b) << \"value differs at version \" << v;",
    "      // Every strict prefix must fail to decode cleanly (never crash).",
    "      for (size_t cut = 0; cut < w.buffer().size(); cut += 1 + w.buffer().size() / 16) {",
    "        Reader rc(w.buffer().data(), cut); T c{}; c.decode(rc, v);",
    "      }",
    "    }",
    "  }",
    "}",
]


def emit_tests(apis, path):
    out = [
        "// Generated by tools/gen_protocol.py: round trip of every message at every version.",
        "#include <gtest/gtest.h>",
        "#include <random>",
    ]
    for api in apis:
        out.append(f'#include "protocol/messages/{snake(api.name)}.h"')
    out += [
        "",
        "namespace samsa::protocol {",
        "namespace {",
        *TEST_FILLERS,
        "",
    ]
    for api in apis:
        g = Gen(api)
        for kind, fields in (("Request", api.request), ("Response", api.response)):
            name = f"{api.name}{kind}"
            structs = []
            g.collect(fields, structs, name)
            for s in structs:
                out.append(f"void fill({name}::{s.name}& m, int16_t v, Rng& g, int depth);")
            for s in structs:
                g.fill_fn(f"{name}::{s.name}", s.fields, out)
            g.fill_fn(name, fields, out)
    out += [
        *ROUND_TRIP_TEST,
        "}  // namespace",
        "",
    ]
    for api in apis:
        for kind in ("Request", "Response"):
            name = f"{api.name}{kind}"
            out.append(f"TEST(GeneratedRoundTrip, {name}) {{ round_trip<{name}>({name}::min_version, {name}::max_version); }}")
    out.append("}  // namespace samsa::protocol")
    write_if_changed(path, "\n".join(out) + "\n")


def emit_registry(apis, out_dir):
    hdr = [
        "// Generated by tools/gen_protocol.py. Do not edit.",
        "#pragma once",
        "#include <cstdint>",
        "#include <span>",
        "",
        "namespace samsa::protocol {",
        "",
        "// The kinds of listener an API is served on: brokers' client listeners and the",
        "// CONTROLLER listener of KRaft controllers (Vote, BeginQuorumEpoch, ... only there).",
        "enum class ApiListener : uint8_t { broker = 1, controller = 2 };",
        "",
        "struct ApiInfo {",
        "  int16_t key;",
        "  const char* name;",
        "  int16_t min_version;",
        "  int16_t max_version;",
        "  int16_t first_flexible;  // -1 when the API has no flexible versions",
        "  uint8_t listeners;       // ApiListener bits: where Kafka serves it (schema `listeners`)",
        "  bool is_flexible(int16_t v) const { return first_flexible >= 0 && v >= first_flexible; }",
        "  bool served_on(ApiListener l) const { return (listeners & static_cast<uint8_t>(l)) != 0; }",
        "};",
        "",
        "// Every API that has a schema, ordered by key.",
        "std::span<const ApiInfo> all_apis();",
        "const ApiInfo* find_api(int16_t key);",
        "",
        "class Reader;",
        "// Decodes and re-encodes the request body of any API key/version (fuzzing, tools).",
        "bool decode_any_request(int16_t key, int16_t version, Reader& r);",
        "",
        "namespace api_key {",
    ]
    for api in sorted(apis, key=lambda a: a.key):
        hdr.append(f"inline constexpr int16_t {api.name} = {api.key};")
    hdr += ["}  // namespace api_key", "", "}  // namespace samsa::protocol"]
    src = [
        "// Generated by tools/gen_protocol.py. Do not edit.",
        '#include "protocol/api_registry.h"',
        "",
        "namespace samsa::protocol {",
        "namespace {",
        "constexpr ApiInfo kApis[] = {",
    ]
    for api in sorted(apis, key=lambda a: a.key):
        fl = api.flexible.lo if api.flexible else -1
        bits = sum(LISTENERS[x] for x in set(api.listeners))
        src.append(f'  {{{api.key}, "{api.name}", {api.versions.lo}, {api.versions.hi}, {fl}, {bits}}},')
    src += [
        "};",
        "}  // namespace",
        "",
        "std::span<const ApiInfo> all_apis() { return kApis; }",
        "",
        "const ApiInfo* find_api(int16_t key) {",
        "  for (const auto& a : kApis)",
        "    if (a.key == key) return &a;",
        "  return nullptr;",
        "}",
        "",
        "}  // namespace samsa::protocol",
    ]
    write_if_changed(os.path.join(out_dir, "protocol", "api_registry.h"), "\n".join(hdr) + "\n")
    write_if_changed(os.path.join(out_dir, "protocol", "api_registry.cc"), "\n".join(src) + "\n")


def emit_any_decoder(apis, out_dir):
    """decode_any_request(): decodes (and re-encodes) the request body of any API
    key at any version. Used by the fuzzer and by tools that inspect raw frames."""
    src = [
        "// Generated by tools/gen_protocol.py. Do not edit.",
        '#include "protocol/api_registry.h"',
    ]
    for api in apis:
        src.append(f'#include "protocol/messages/{snake(api.name)}.h"')
    src += [
        "",
        "namespace samsa::protocol {",
        "",
        "// Returns false for an unknown key/version or a body that does not decode.",
        "bool decode_any_request(int16_t key, int16_t version, Reader& r) {",
        "  switch (key) {",
    ]
    for api in sorted(apis, key=lambda a: a.key):
        n = f"{api.name}Request"
        src.append(f"    case {api.key}: {{")
        src.append(f"      if (version < {n}::min_version || version > {n}::max_version) return false;")
        src.append(f"      {n} m; m.decode(r, version);")
        src.append("      if (!r.ok()) return false;")
        src.append("      Writer w; m.encode(w, version);")
        src.append("      return true;")
        src.append("    }")
    src += ["    default: return false;", "  }", "}", "", "}  // namespace samsa::protocol"]
    write_if_changed(os.path.join(out_dir, "protocol", "any_request.cc"), "\n".join(src) + "\n")


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def parse_args(ext):
    """The generators' command line; returns it and the schema files ending in `ext`, sorted."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tests")
    ap.add_argument("--list", action="store_true", help="print the generated .cc files and exit")
    args = ap.parse_args()
    return args, sorted(f for f in os.listdir(args.schemas) if f.endswith(ext))


def main():
    args, files = parse_args(".api")
    if args.list:
        for f in files:
            print(os.path.join(args.out, "protocol", "messages", f[:-4] + ".cc"))
        return
    try:
        apis = [parse_schema(os.path.join(args.schemas, f)) for f in files]
        for f, api in zip(files, apis):
            if snake(api.name) + ".api" != f:
                raise SchemaError(f"{f}: file name must be {snake(api.name)}.api")
        keys = [a.key for a in apis]
        if len(keys) != len(set(keys)):
            raise SchemaError("two schemas share an API key")
        for api in apis:
            emit_api(api, args.out)
        emit_registry(apis, args.out)
        emit_any_decoder(apis, args.out)
        if args.tests:
            emit_tests(apis, args.tests)
    except SchemaError as e:
        print(f"gen_protocol: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
