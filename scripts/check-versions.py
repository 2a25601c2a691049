#!/usr/bin/env python3
"""Checks that the dependency versions the build resolves are the ones recorded in
dependencies.lock.json: every package of `swift package show-dependencies --format json` (the
direct ones, pinned `exact:` in Package.swift, and theirs), by identity, URL and version.
A drift (a new version, a package added or gone) exits 1 with one line per difference.

    scripts/check-versions.py            # check (make test runs it)
    scripts/check-versions.py --write    # record what resolves now, after changing Package.swift

Package.resolved is not used: git ignores it here, and its commit ids depend on the mirror the
packages were cloned from. Versions are what a fresh clone resolves anywhere."""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lock_path = os.path.join(root, "dependencies.lock.json")


def resolved():
    swift = os.environ.get("SWIFT", "swift")
    out = subprocess.run([swift, "package", "show-dependencies", "--format", "json"], cwd=root,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print("check-versions: `swift package show-dependencies` failed:\n" + out.stderr.strip())
        sys.exit(1)
    text = out.stdout
    try:
        tree = json.loads(text[text.index("{"):])
    except (ValueError, json.JSONDecodeError) as error:
        print(f"check-versions: cannot read show-dependencies' JSON: {error}")
        sys.exit(1)
    found = {}

    def walk(node):
        for dep in node.get("dependencies", []):
            found[dep["identity"]] = {"url": dep["url"], "version": dep["version"]}
            walk(dep)

    walk(tree)
    return dict(sorted(found.items()))


def direct_pins():
    """identity -> exact version, from Package.swift's .package(url:, exact:) lines."""
    import re
    with open(os.path.join(root, "Package.swift")) as f:
        text = f.read()
    pins = {}
    for url, kind, version in re.findall(r'\.package\(\s*url:\s*"([^"]+)",\s*(\w+):\s*"([^"]+)"', text):
        identity = url.rstrip("/").split("/")[-1].removesuffix(".git").lower()
        pins[identity] = (kind, version)
    return pins


now = resolved()
if "--write" in sys.argv[1:]:
    with open(lock_path, "w") as f:
        json.dump({
            "comment": "The versions `swift package show-dependencies` resolves for Package.swift; "
                       "checked by scripts/check-versions.py (make test), rewritten with --write.",
            "dependencies": now,
        }, f, indent=2)
        f.write("\n")
    print(f"check-versions: recorded {len(now)} packages in dependencies.lock.json")
    sys.exit(0)

try:
    with open(lock_path) as f:
        recorded = json.load(f)["dependencies"]
except (OSError, ValueError, KeyError) as error:
    print(f"check-versions: cannot read dependencies.lock.json: {error}")
    sys.exit(1)

problems = []
for identity, pin in direct_pins().items():
    kind, version = pin
    if kind != "exact":
        problems.append(f"Package.swift: {identity} is `{kind}: \"{version}\"`; pin it with `exact:`")
    elif recorded.get(identity, {}).get("version") != version:
        problems.append(f"Package.swift pins {identity} {version}, dependencies.lock.json records "
                        f"{recorded.get(identity, {}).get('version', 'nothing')}")
def same_place(url):
    """A URL as SwiftPM may spell it either way (with or without `.git`, a trailing slash, case):
    which spelling a resolution keeps depends on which package named it first."""
    return url.rstrip("/").removesuffix(".git").lower()


for identity in sorted(set(now) | set(recorded)):
    a, b = recorded.get(identity), now.get(identity)
    if a is None:
        problems.append(f"{identity} {b['version']} resolves but is not recorded")
    elif b is None:
        problems.append(f"{identity} {a['version']} is recorded but no longer resolves")
    elif a["version"] != b["version"] or same_place(a["url"]) != same_place(b["url"]):
        problems.append(f"{identity}: recorded {a['version']} ({a['url']}), resolves {b['version']} ({b['url']})")
if problems:
    for p in problems:
        print("check-versions: " + p)
    print("check-versions: if the change is intended, run scripts/check-versions.py --write and commit "
          "dependencies.lock.json with Package.swift")
    sys.exit(1)
print(f"check-versions: {len(now)} packages resolve at the recorded versions")
