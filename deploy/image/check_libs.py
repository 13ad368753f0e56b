"""Run by deploy/Dockerfile after deploy/image/trim.sh: every ELF file left
under /usr and /opt finds all the shared libraries it links, so the trim
removed no library that Python's extension modules, ssh, tini or a wheel need.
Uses the dynamic loader's --list (ldd is a bash script, and bash is gone)."""

import glob
import os
import subprocess
import sys


def elf_files(*roots: str) -> list[str]:
    found = []
    for root in roots:
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        found.append(path)
    return found


def main() -> int:
    loader = sorted(glob.glob("/lib64/ld-linux-*.so.*") + glob.glob("/lib/ld-linux-*.so.*"))[0]
    missing = []
    files = elf_files("/usr", "/opt")
    for path in files:
        done = subprocess.run([loader, "--list", path], capture_output=True, text=True)
        # The loader reports a missing direct dependency as "=> not found" and
        # stops at a missing dependency of a dependency with an error.
        lines = done.stdout.splitlines() + done.stderr.splitlines()
        missing += [
            f"{path}: {line.strip()}"
            for line in lines
            if "not found" in line or "error while loading shared libraries" in line
        ]
    print(f"check_libs: {len(files)} ELF files, {len(missing)} missing libraries")
    print("\n".join(missing))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
