#!/usr/bin/env python3
"""Checks a `dotnet publish -r RID` folder: the native libraries an app needs on RID are there,
and no managed assembly is tied to another architecture.

    check-publish.py FOLDER RID [NATIVE-FILE ...]

Every .dll and .exe with a CLI header is read: an AnyCPU assembly (machine i386, IL only, not
32-bit required) runs anywhere; an assembly stamped for one machine must be RID's (the app itself
is, when published for a RID; so is a self-contained app's ReadyToRun runtime). A native library must be for RID's machine too: ELF .so
files and Mach-O .dylib files always, PE .dll files on Windows RIDs (ONNX Runtime's package also
drops its win-arm64 DLLs into other arm64 outputs, where nothing loads them).
Each NATIVE-FILE must exist in FOLDER. Prints one line per problem and "check-publish: FOLDER ok
(N managed assemblies, AnyCPU or ARCH)" when there is none; exits 1 on a problem.
"""
import os
import struct
import sys

MACHINES = {0x14C: "i386", 0x8664: "x64", 0xAA64: "arm64", 0x1C4: "arm"}
# ReadyToRun images (a self-contained app's runtime) store the machine XOR an OS mask: none for
# Windows, 0x4644 macOS, 0x7B79 Linux, 0xADC4 FreeBSD, 0x1993 NetBSD.
OS_MASKS = (0, 0x4644, 0x7B79, 0xADC4, 0x1993)
IL_ONLY, REQUIRED_32BIT = 0x1, 0x2


def machine_name(machine):
    for mask in OS_MASKS:
        if machine ^ mask in MACHINES:
            return MACHINES[machine ^ mask]
    return hex(machine)


def pe_info(path):
    """(machine name, is managed, is AnyCPU) of a PE file, or None when it is not one."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 0x40 or data[:2] != b"MZ":
        return None
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe:pe + 4] != b"PE\0\0":
        return None
    machine = struct.unpack_from("<H", data, pe + 4)[0]
    optional = pe + 24
    magic = struct.unpack_from("<H", data, optional)[0]
    directories = optional + (96 if magic == 0x10B else 112)
    cli_rva, cli_size = struct.unpack_from("<II", data, directories + 14 * 8)
    if cli_rva == 0 or cli_size == 0:
        return machine_name(machine), False, False
    # The CLI header's file offset, through the section table.
    sections = optional + struct.unpack_from("<H", data, pe + 20)[0]
    count = struct.unpack_from("<H", data, pe + 6)[0]
    flags = None
    for s in range(count):
        base = sections + 40 * s
        size, rva, raw_size, raw = struct.unpack_from("<IIII", data, base + 8)
        if rva <= cli_rva < rva + max(size, raw_size):
            flags = struct.unpack_from("<I", data, cli_rva - rva + raw + 16)[0]
            break
    if flags is None:
        raise ValueError(f"{path}: CLI header outside every section")
    any_cpu = machine == 0x14C and flags & IL_ONLY and not flags & REQUIRED_32BIT
    return machine_name(machine), True, bool(any_cpu)


ELF_MACHINES = {0x3E: "x64", 0xB7: "arm64", 0x03: "i386", 0x28: "arm"}
MACHO_CPUS = {0x01000007: "x64", 0x0100000C: "arm64"}


def native_arch(path):
    """The architecture of an ELF or (thin) Mach-O file, or None when it is neither."""
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        return ELF_MACHINES.get(struct.unpack_from("<H", head, 18)[0], "other")
    if head[:4] == b"\xcf\xfa\xed\xfe":
        return MACHO_CPUS.get(struct.unpack_from("<I", head, 4)[0], "other")
    if head[:4] == b"\xca\xfe\xba\xbe":
        return "universal"
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    folder, rid, natives = sys.argv[1], sys.argv[2], sys.argv[3:]
    arch = rid.rsplit("-", 1)[1]
    problems, managed = [], 0
    for name in natives:
        if not os.path.isfile(os.path.join(folder, name)):
            problems.append(f"no {name} in {folder}")
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith((".so", ".dylib")) or ".so." in name:
                found = native_arch(path)
                if found is not None and found not in (arch, "universal"):
                    problems.append(f"{os.path.relpath(path, folder)} is a native library for {found}, not {arch}")
                continue
            if not name.lower().endswith((".dll", ".exe")):
                continue
            info = pe_info(path)
            if info is None:
                continue
            machine, is_managed, any_cpu = info
            if is_managed:
                managed += 1
                if not any_cpu and machine != arch:
                    problems.append(f"{os.path.relpath(path, folder)} is a managed assembly for {machine}, not AnyCPU or {arch}")
            elif rid.startswith("win") and machine != arch:
                problems.append(f"{os.path.relpath(path, folder)} is a native library for {machine}, not {arch}")
    for p in problems:
        print(f"check-publish: {p}")
    if problems:
        sys.exit(1)
    print(f"check-publish: {folder} ok ({managed} managed assemblies, AnyCPU or {arch})")


if __name__ == "__main__":
    main()
