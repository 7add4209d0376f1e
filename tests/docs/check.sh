#!/usr/bin/env bash
# docs/ is kept checked against the API XML (issue 5). Runs on the CI machine, python3
# (standard library) and bash only; no test host.
#
#   bash tests/docs/check.sh RESULTS_FILE      appends "pass NAME" / "fail NAME" lines
#
# docs_api_reference_current   docs/dbus-api.md equals docs/gen-api.py's output for dbus/*.xml
#                              (after an API change: python3 docs/gen-api.py > docs/dbus-api.md)
# docs_generator_follows_xml   a member added to a copy of the XML appears in the output, a
#                              removed one disappears, and an undocumented one is refused
# docs_examples_current        every org.pgnspawn1 method, signal and property the examples
#                              in docs/ide-integration.md name exists in the XML; the Python
#                              example compiles and the shell examples parse
set -uo pipefail
cd "$(dirname "$0")/../.."
results=${1:?usage: check.sh RESULTS_FILE}
failed=0
# shellcheck source=../lib/verdict.sh
source tests/lib/verdict.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 1. The committed reference is the generator's output.
if ! python3 docs/gen-api.py >"$tmp/api.md" 2>"$tmp/err"; then
    verdict docs_api_reference_current 1 "the generator failed: $(cat "$tmp/err")"
elif ! out=$(diff -u docs/dbus-api.md "$tmp/api.md"); then
    verdict docs_api_reference_current 1 "docs/dbus-api.md is stale (python3 docs/gen-api.py > docs/dbus-api.md):"$'\n'"$out"
else
    verdict docs_api_reference_current 0
fi

# 2. The generator follows the XML rather than a list of its own.
why=""
manager=dbus/org.pgnspawn1.Manager.xml instance=dbus/org.pgnspawn1.Instance.xml
sed 's|</interface>|    <!-- ProbeAdded: a member only this test knows. -->\n    <signal name="ProbeAdded"><arg name="probe" type="a{sv}"/></signal>\n  </interface>|' \
    "$manager" >"$tmp/added.xml"
if ! python3 docs/gen-api.py "$tmp/added.xml" "$instance" >"$tmp/added.md" 2>"$tmp/err"; then
    why+="fails on a documented new member: $(cat "$tmp/err"); "
else
    grep -q '^#### `ProbeAdded(a{sv} probe)`$' "$tmp/added.md" || why+="a new signal is missing from the output; "
    grep -q '^A member only this test knows\.$' "$tmp/added.md" || why+="a new signal's doc comment is missing; "
    grep -q 'dict of string to variant' "$tmp/added.md" || why+="a{sv} is not described; "
fi
# Drop the GetAddress method (its comment and element) from a copy.
python3 - "$manager" "$tmp/removed.xml" <<'PY'
import re, sys
xml = open(sys.argv[1]).read()
out = re.sub(r'<!--\s*GetAddress:.*?-->\s*<method name="GetAddress">.*?</method>\s*', '', xml, flags=re.S)
assert out != xml, "GetAddress not found in the Manager XML"
open(sys.argv[2], "w").write(out)
PY
if python3 docs/gen-api.py "$tmp/removed.xml" "$instance" >"$tmp/removed.md" 2>"$tmp/err"; then
    ! grep -q 'GetAddress' "$tmp/removed.md" || why+="a removed method is still in the output; "
    grep -q '^#### `HealthCheck(' "$tmp/removed.md" || why+="the other methods went missing; "
else
    why+="fails with a method removed: $(cat "$tmp/err"); "
fi
sed 's|</interface>|    <method name="Undocumented"/>\n  </interface>|' "$instance" >"$tmp/undoc.xml"
if python3 docs/gen-api.py "$manager" "$tmp/undoc.xml" >/dev/null 2>"$tmp/err"; then
    why+="an undocumented member was accepted; "
else
    grep -q 'Undocumented has no doc comment' "$tmp/err" || why+="unexpected refusal: $(cat "$tmp/err"); "
fi
verdict docs_generator_follows_xml "$([ -z "$why" ]; echo $?)" "$why"

# 3. The examples name only what exists, and still parse.
why=$(python3 - docs/ide-integration.md "$manager" "$instance" "$tmp" <<'PY'
import re, subprocess, sys
from xml.dom import minidom
md_path, tmp = sys.argv[1], sys.argv[4]
known = {"Manager": set(), "Instance": set()}
for path, key in ((sys.argv[2], "Manager"), (sys.argv[3], "Instance")):
    for tag in ("method", "signal", "property"):
        known[key] |= {e.getAttribute("name") for e in minidom.parse(path).getElementsByTagName(tag)}
md = open(md_path).read()
problems = []
# "org.pgnspawn1.Manager Start", "org.pgnspawn1.Manager.ListInstances", "org.pgnspawn1.Instance State"
for iface, member in re.findall(r"org\.pgnspawn1\.(Manager|Instance)[. ]([A-Z]\w*)", md):
    if member not in known[iface]:
        problems.append(f"{iface}.{member} is not in the XML")
# Python: Manager methods called by string; properties read by Get (INSTANCE, "Name").
for method in re.findall(r'MANAGER, "(\w+)"', md):
    if method not in known["Manager"]:
        problems.append(f"Manager.{method} (Python example) is not in the XML")
for prop in re.findall(r'\(INSTANCE, "(\w+)"\)', md) + re.findall(r"Instance (State|LastError)\b", md):
    if prop not in known["Instance"]:
        problems.append(f"Instance.{prop} (example) is not in the XML")
blocks = re.findall(r"```(\w+)\n(.*?)```", md, re.S)
langs = [lang for lang, _ in blocks]
if "python" not in langs or langs.count("sh") < 2:
    problems.append(f"expected a python and two sh examples, found {langs}")
for i, (lang, code) in enumerate(blocks):
    f = f"{tmp}/example{i}.{lang}"
    open(f, "w").write(code)
    cmd = ["python3", "-m", "py_compile", f] if lang == "python" else ["bash", "-n", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        problems.append(f"{lang} example {i} does not parse: {r.stderr.strip()}")
print("; ".join(problems))
PY
)
verdict docs_examples_current "$([ -z "$why" ]; echo $?)" "$why"
exit "$failed"
