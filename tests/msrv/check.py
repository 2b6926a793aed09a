#!/usr/bin/env python3
"""Fails when a package in Cargo.lock needs a newer Rust than the workspace's
`rust-version`, the oldest toolchain README.md promises to build with.

The machine's own toolchain is newer, so a build here would not notice: a
`cargo update` can pull in a release that needs it (it did: parking_lot 0.13,
Rust 1.95, through scheduled-thread-pool 0.2.8).
"""
import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"], check=True, capture_output=True, text=True
    ).stdout
)
members = set(metadata["workspace_members"])
promised = max(version(p["rust_version"]) for p in metadata["packages"] if p["id"] in members)
too_new = sorted(
    f"{p['name']} {p['version']} needs Rust {p['rust_version']}"
    for p in metadata["packages"]
    if p["id"] not in members and p.get("rust_version") and version(p["rust_version"]) > promised
)
if too_new:
    print(f"Cargo.lock needs more than the promised Rust {'.'.join(map(str, promised[:2]))}:")
    print("\n".join(f"  {line}" for line in too_new))
    sys.exit(1)
print(f"every locked package builds with Rust {'.'.join(map(str, promised[:2]))}")
