#!/usr/bin/env python3
"""Clang's thread-safety analysis over the project's own sources.

GCC ignores ABSL_GUARDED_BY and friends; clang checks them. This runs
`clang++ -fsyntax-only -Wthread-safety -Werror=thread-safety` (every other
warning off: the GCC build owns those) over each translation unit of the
build's compile_commands.json that belongs to the project (generated
protos and third-party code are skipped), in parallel, and fails listing
each finding.

Units are skipped when they hold no annotated code of their own (see
Sources.worth_checking); --all checks every one.

  tests/static/thread_safety.py BUILD_DIR [--jobs N] [--clang clang++] [--all]
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ANNOTATION = re.compile(r"ABSL_(PT_)?GUARDED_BY|ABSL_(EXCLUSIVE|SHARED)_LOCKS_"
                        r"REQUIRED|ABSL_LOCKS_EXCLUDED|ABSL_ASSERT_"
                        r"(EXCLUSIVE|SHARED)_LOCK")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def is_test_code(path):
    return ("_test" in os.path.basename(path) or "/tests/" in path or
            "/testing/" in path or "test_util" in path)


class Sources:
    """Which repository files a file includes, and which are annotated."""

    def __init__(self, source_dir):
        self.source_dir = source_dir
        self.includes = {}
        self.annotated = {}
        self.covered = set()  # annotated test headers already checked

    def scan(self, path):
        if path in self.includes:
            return
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        self.annotated[path] = bool(ANNOTATION.search(text))
        found = []
        for name in INCLUDE.findall(text):
            candidate = os.path.join(self.source_dir, name)
            if os.path.isfile(candidate):
                found.append(candidate)
        self.includes[path] = found
        for child in found:
            self.scan(child)

    def closure(self, path):
        self.scan(path)
        seen, stack = set(), [path]
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            stack.extend(self.includes.get(p, []))
        return seen

    def worth_checking(self, unit):
        """A unit is checked when it holds annotated code no other unit
        checks: its own, its own header's (foo.cc for foo.h: every header's
        inline code is checked with its .cc), or a test header's (test
        helpers have no .cc). Tests are the slowest units to parse; one that
        only includes annotated library headers adds nothing.
        """
        self.scan(unit)
        if self.annotated[unit]:
            return True
        header = os.path.splitext(unit)[0] + ".h"
        if not is_test_code(unit) and os.path.isfile(header):
            self.scan(header)
            if self.annotated[header]:
                return True
        # A test header is checked once, with the first unit including it.
        fresh = [p for p in self.closure(unit)
                 if p != unit and p.endswith(".h") and self.annotated[p] and
                 is_test_code(p) and p not in self.covered]
        self.covered.update(fresh)
        return bool(fresh)

# Flags of the GCC build that clang does not take or that change nothing
# for an analysis that produces no code.
DROP_PREFIXES = ("-fsanitize", "-fno-sanitize", "-O", "-g", "-W",
                 "-fprofile", "-fcoverage")


def clang_command(entry, source_dir, clang):
    args = entry.get("arguments") or shlex.split(entry["command"])
    # The compiler, possibly behind a launcher (ccache).
    while args and not args[0].startswith("-") and not args[0].endswith(
            (".cc", ".cpp")) and (os.path.basename(args[0]) in (
                "ccache", "c++", "g++", "cc", "gcc") or "++" in args[0]):
        args = args[1:]
    out = [clang, "-fsyntax-only", "-Wno-everything", "-Wthread-safety",
           "-Wthread-safety-reference", "-Werror=thread-safety",
           "-Werror=thread-safety-reference"]
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "-o":
            skip = True
            continue
        if arg == "-c" or arg.startswith(DROP_PREFIXES):
            continue
        out.append(arg)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--clang", default="clang++")
    parser.add_argument("--all", action="store_true",
                        help="every unit, not only those worth checking")
    args = parser.parse_args()
    source_dir = os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    build_dir = os.path.abspath(args.build_dir)
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = json.load(f)
    sources = Sources(source_dir)
    units = []
    for entry in entries:
        path = os.path.abspath(os.path.join(entry["directory"], entry["file"]))
        if path.startswith(build_dir + os.sep):
            continue  # generated (protos)
        if not path.startswith(source_dir + os.sep):
            continue
        if not args.all and not sources.worth_checking(path):
            continue
        units.append((path, entry))

    def check(unit):
        path, entry = unit
        cmd = clang_command(entry, source_dir, args.clang)
        result = subprocess.run(cmd, cwd=entry["directory"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        return path, result.returncode, result.stdout

    failures = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for path, code, output in pool.map(check, units):
            if code != 0:
                failures += 1
                sys.stdout.write(output)
    rel = len(units)
    if failures:
        print(f"thread-safety: {failures} of {rel} translation units have "
              "findings (above)")
        return 1
    print(f"thread-safety: {rel} translation units clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
