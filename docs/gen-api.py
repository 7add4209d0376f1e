#!/usr/bin/env python3
"""Writes docs/dbus-api.md from the D-Bus introspection XML in dbus/.

The XML's doc comments are the source: the comment at the top of a file describes its
object, the comment right before a method, signal or property describes that member
("Name: text", the "Name:" being dropped). A member without a comment is an error, so
the reference cannot silently fall behind the API.

    python3 docs/gen-api.py > docs/dbus-api.md       (what tests/docs/check.sh compares)
    python3 docs/gen-api.py FILE.xml...              other files, e.g. in a test

Standard library only.
"""
import os
import re
import sys
import textwrap
from xml.dom import minidom

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_XML = ["dbus/org.pgnspawn1.Manager.xml", "dbus/org.pgnspawn1.Instance.xml"]

BASIC = {
    "y": "byte", "b": "boolean", "n": "int16", "q": "uint16", "i": "int32", "u": "uint32",
    "x": "int64", "t": "uint64", "d": "double", "h": "unix fd", "s": "string",
    "o": "object path", "g": "signature", "v": "variant",
}


class XmlError(Exception):
    pass


def describe(sig):
    """'a(sso)' -> 'array of (string, string, object path)'."""
    def one(i):
        c = sig[i]
        if c in BASIC:
            return BASIC[c], i + 1
        if c == "a":
            if sig[i + 1] == "{":
                k, j = one(i + 2)
                v, j = one(j)
                return f"dict of {k} to {v}", j + 1
            inner, j = one(i + 1)
            return f"array of {inner}", j
        if c == "(":
            parts, j = [], i + 1
            while sig[j] != ")":
                p, j = one(j)
                parts.append(p)
            return "(" + ", ".join(parts) + ")", j + 1
        raise XmlError(f"unknown type code {c!r} in signature {sig!r}")

    out, i = [], 0
    while i < len(sig):
        d, i = one(i)
        out.append(d)
    return ", ".join(out)


def prose(comment):
    """Dedents a comment and joins each paragraph's lines into one line."""
    text = textwrap.dedent(comment.strip("\n")).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    paras = [" ".join(line.strip() for line in p.splitlines()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paras if p)


def sentence(text):
    """Capitalises a leading plain word ("start the ..." -> "Start the ...", not a URI)."""
    return re.sub(r"^[a-z]+(?=[\s,.;])", lambda m: m.group(0).capitalize(), text)


def member_doc(element, name, where):
    """The comment right before element (only whitespace in between), without 'Name:'."""
    node = element.previousSibling
    while node is not None and node.nodeType == node.TEXT_NODE and not node.data.strip():
        node = node.previousSibling
    if node is None or node.nodeType != node.COMMENT_NODE:
        raise XmlError(f"{where}: {element.tagName} {name} has no doc comment before it")
    text = prose(node.data)
    prefix = name + ":"
    if not text.startswith(prefix):
        raise XmlError(f"{where}: the doc comment of {element.tagName} {name} must start with '{prefix}'")
    return sentence(text[len(prefix):].strip())


def children(element, tag):
    return [c for c in element.childNodes if c.nodeType == c.ELEMENT_NODE and c.tagName == tag]


def annotations(element):
    return {a.getAttribute("name"): a.getAttribute("value") for a in children(element, "annotation")}


def arg_list(args):
    return ", ".join(f"{a.getAttribute('type')} {a.getAttribute('name')}" for a in args)


def arg_table(args, with_direction):
    rows = ["| argument | type | meaning of the type |" if not with_direction
            else "| argument | direction | type | meaning of the type |",
            "|---|---|---|---|" if with_direction else "|---|---|---|"]
    for a in args:
        t = a.getAttribute("type")
        cells = [f"`{a.getAttribute('name')}`"]
        if with_direction:
            cells.append(a.getAttribute("direction") or "in")
        cells += [f"`{t}`", describe(t)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_file(path, label):
    try:
        doc = minidom.parse(path)
    except Exception as e:  # expat's ExpatError, OSError
        raise XmlError(f"{label}: {e}")
    top = [n for n in doc.childNodes if n.nodeType == n.COMMENT_NODE]
    node = doc.documentElement
    out = []
    for iface in children(node, "interface"):
        iname = iface.getAttribute("name")
        out.append(f"## Interface `{iname}`\n")
        out.append(f"Source: [`{label}`](../{label})\n")
        if top:
            out.append(prose(top[0].data) + "\n")
        methods = children(iface, "method")
        signals = children(iface, "signal")
        props = children(iface, "property")
        unknown = [c.tagName for c in iface.childNodes if c.nodeType == c.ELEMENT_NODE
                   and c.tagName not in ("method", "signal", "property", "annotation")]
        if unknown:
            raise XmlError(f"{label}: unexpected element(s) in {iname}: {', '.join(unknown)}")

        if methods:
            out.append("### Methods\n")
        for m in methods:
            name = m.getAttribute("name")
            ins = [a for a in children(m, "arg") if a.getAttribute("direction") in ("", "in")]
            outs = [a for a in children(m, "arg") if a.getAttribute("direction") == "out"]
            sig = f"{name}({arg_list(ins)})" + (f" → ({arg_list(outs)})" if outs else "")
            out.append(f"#### `{sig}`\n")
            out.append(member_doc(m, name, label) + "\n")
            args = children(m, "arg")
            if args:
                out.append(arg_table(args, True) + "\n")
            ann = annotations(m)
            if ann.get("org.freedesktop.DBus.Method.Async") == "server":
                out.append("The daemon answers this call asynchronously: other calls are served while it runs.\n")
            if ann.get("org.freedesktop.DBus.Method.NoReply") == "true":
                out.append("No reply is sent.\n")
            out.append("```sh\n" + busctl_line(iname, node, m, ins) + "\n```\n")

        if signals:
            out.append("### Signals\n")
        for s in signals:
            name = s.getAttribute("name")
            args = children(s, "arg")
            out.append(f"#### `{name}({arg_list(args)})`\n")
            out.append(member_doc(s, name, label) + "\n")
            if args:
                out.append(arg_table(args, False) + "\n")
            out.append(f"Match rule: `type='signal',sender='org.pgnspawn1',interface='{iname}',member='{name}'`\n")

        if props:
            out.append("### Properties\n")
            out.append("| property | type | access | PropertiesChanged | meaning |")
            out.append("|---|---|---|---|---|")
            for p in props:
                name = p.getAttribute("name")
                t = p.getAttribute("type")
                emits = annotations(p).get("org.freedesktop.DBus.Property.EmitsChangedSignal", "true")
                emits = {"true": "with the value", "invalidates": "without the value",
                         "const": "never changes", "false": "not emitted"}.get(emits, emits)
                doc = member_doc(p, name, label).replace("|", "\\|").replace("\n\n", " ")
                out.append(f"| `{name}` | `{t}` ({describe(t)}) | {p.getAttribute('access')} | {emits} | {doc} |")
            out.append("")
    if not children(node, "interface"):
        raise XmlError(f"{label}: no <interface>")
    return "\n".join(out)


def busctl_line(iname, node, method, ins):
    """An example call for the Manager's methods (the only object at a fixed path)."""
    path = "/org/pgnspawn1" if iname.endswith(".Manager") else "/org/pgnspawn1/instance/NAME"
    sig = "".join(a.getAttribute("type") for a in ins)
    values = " ".join("helloworld" if a.getAttribute("name") == "name" else a.getAttribute("name").upper()
                      for a in ins)
    return " ".join(x for x in ["busctl call org.pgnspawn1", path, iname, method.getAttribute("name"),
                                sig, values] if x)


def main(argv):
    files = argv[1:] or DEFAULT_XML
    parts = [
        "# pgnspawn D-Bus API reference\n",
        "<!-- Generated by docs/gen-api.py from "
        + ", ".join(os.path.basename(f) for f in files)
        + "; do not edit. Regenerate: python3 docs/gen-api.py > docs/dbus-api.md -->\n",
        "Bus: the **system bus**, well-known name `org.pgnspawn1` (D-Bus activated). "
        "Who may call what is in the README's *Security model*; how an IDE waits for an "
        "instance to be ready is in [ide-integration.md](ide-integration.md).\n",
        "Every object also implements `org.freedesktop.DBus.Introspectable`, "
        "`org.freedesktop.DBus.Peer` and `org.freedesktop.DBus.Properties`.\n",
    ]
    for f in files:
        path = f if os.path.isabs(f) else os.path.join(ROOT, f)
        label = f if not os.path.isabs(f) else os.path.basename(f)
        parts.append(render_file(path, label))
    sys.stdout.write("\n".join(parts).rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except XmlError as e:
        print(f"gen-api.py: {e}", file=sys.stderr)
        sys.exit(1)
