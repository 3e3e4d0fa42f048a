"""Which llama-cpp-python build this machine gets: CMake flags read from the CPU, the cache key
they make, and a check that the installed library is that build.

Standard library only: `./run` calls it with the system python3 before any virtual environment
exists (`python3 pytest_arena/llama_build.py flags`).

Why flags read from the CPU and not llama.cpp's runtime dispatch (GGML_BACKEND_DL with
GGML_CPU_ALL_VARIANTS): llama-cpp-python 0.3.36 never calls ggml_backend_load_all(), so a
dispatch build loads no CPU backend at all. Why every x86 flag is spelled out, ON or OFF: with
GGML_NATIVE=OFF ggml turns AVX/AVX2/FMA/F16C/BMI2/SSE4.2 on by default, which dies of SIGILL on
a CPU without them; with GGML_NATIVE=ON it enables AMX where the CPU has it, and
ggml_backend_amx_mul_mat segfaults on the Xeons these projects run on. AMX is never enabled.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

LLAMA_VERSION = "0.3.36"

# ggml option -> the /proc/cpuinfo flags that must all be present for it.
X86_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_SSE42", ("sse4_2",)),
    ("GGML_AVX", ("avx",)),
    ("GGML_F16C", ("f16c",)),
    ("GGML_FMA", ("fma",)),
    ("GGML_BMI2", ("bmi2",)),
    ("GGML_AVX2", ("avx2",)),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
    # ggml's AVX512 switch compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw.
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VBMI", ("avx512f", "avx512vbmi")),
    ("GGML_AVX512_VNNI", ("avx512f", "avx512_vnni")),
    ("GGML_AVX512_BF16", ("avx512f", "avx512_bf16")),
)
NEVER = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")

# ggml's CPU backend reports its compiled-in features in llama_print_system_info() under these names.
SYSTEM_INFO_NAMES = {
    "GGML_SSE42": "SSE3",  # no SSE4.2 entry; SSE3 is printed for any SSE build
    "GGML_AVX": "AVX",
    "GGML_F16C": "F16C",
    "GGML_FMA": "FMA",
    "GGML_BMI2": "BMI2",
    "GGML_AVX2": "AVX2",
    "GGML_AVX_VNNI": "AVX_VNNI",
    "GGML_AVX512": "AVX512",
    "GGML_AVX512_VBMI": "AVX512_VBMI",
    "GGML_AVX512_VNNI": "AVX512_VNNI",
    "GGML_AVX512_BF16": "AVX512_BF16",
    "GGML_AMX_INT8": "AMX_INT8",
}


@dataclass(frozen=True)
class CpuInfo:
    arch: str  # "x86_64", "aarch64", ...
    flags: frozenset[str]


def parse_cpuinfo(text: str, machine: str) -> CpuInfo:
    """The feature flags of the first processor in a /proc/cpuinfo text ("flags" on x86,
    "Features" on arm64)."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            return CpuInfo(machine, frozenset(value.split()))
    return CpuInfo(machine, frozenset())


def _arm_arch(flags: frozenset[str]) -> str:
    # The same features llama.cpp's ARM variants key on: dotprod, fp16, i8mm, sve.
    extensions = []
    if "asimddp" in flags:
        extensions.append("dotprod")
    if "fphp" in flags and "asimdhp" in flags:
        extensions.append("fp16")
    if "i8mm" in flags:
        extensions.append("i8mm")
    if "sve" in flags:
        extensions.append("sve")
    base = "armv8.2-a" if extensions else "armv8-a"
    return "+".join([base, *extensions])


def cmake_flags(cpu: CpuInfo) -> list[str]:
    """CMake arguments for a CPU build that runs on this CPU and uses what it has."""
    flags = ["-DGGML_NATIVE=OFF"]
    if cpu.arch in ("x86_64", "amd64", "i686"):
        for option, needed in X86_OPTIONS:
            on = all(flag in cpu.flags for flag in needed)
            flags.append(f"-D{option}={'ON' if on else 'OFF'}")
    elif cpu.arch in ("aarch64", "arm64"):
        flags.append(f"-DGGML_CPU_ARM_ARCH={_arm_arch(cpu.flags)}")
    flags += [f"-D{option}=OFF" for option in NEVER]
    return flags


def this_cpu() -> CpuInfo:
    machine = platform.machine().lower()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    return parse_cpuinfo(text, machine)


def cache_key(version: str, flags: list[str]) -> str:
    """Names the wheel folder: another version, other flags (so another CPU's set) -> another key."""
    return hashlib.sha256(json.dumps([version, flags]).encode()).hexdigest()[:16]


def expected_features(flags: list[str]) -> dict[str, bool]:
    """What llama_print_system_info() must report for a build made with these flags."""
    asked = {m.group(1): m.group(2) == "ON" for m in (re.match(r"-D(GGML_\w+)=(\w+)", f) for f in flags) if m}
    return {name: asked.get(option, False) for option, name in SYSTEM_INFO_NAMES.items() if option in asked}


def parse_system_info(text: str) -> dict[str, bool]:
    """`AVX = 1 | AVX2 = 1 | ...` -> {"AVX": True, ...} (the CPU backend's part)."""
    return {m.group(1): m.group(2) != "0" for m in re.finditer(r"\b([A-Z0-9_]+) = (\d+)", text)}


def mismatches(flags: list[str], system_info: str) -> list[str]:
    """Each feature whose compiled-in state differs from what the flags asked for."""
    reported = parse_system_info(system_info)
    wrong = []
    for name, want in expected_features(flags).items():
        if name == "SSE3":
            continue  # printed for SSE builds generally, not tied to the SSE4.2 switch
        have = reported.get(name, False)
        if have != want:
            wrong.append(f"{name}: asked {'on' if want else 'off'}, built {'on' if have else 'off'}")
    if reported.get("AMX_INT8"):
        wrong.append("AMX_INT8: built on, never allowed")
    return wrong


def describe(flags: list[str]) -> str:
    on = [f[len("-DGGML_") : -len("=ON")] for f in flags if f.endswith("=ON") and "NATIVE" not in f]
    arm = [f.split("=", 1)[1] for f in flags if f.startswith("-DGGML_CPU_ARM_ARCH=")]
    return " ".join(on + arm) or "baseline (no SIMD extensions)"


def check_installed(flags: list[str], cuda: bool) -> tuple[str, list[str]]:
    """Imports the installed llama_cpp (run this in a child process: a build for the wrong CPU can
    die of SIGILL here) and returns (one line saying what is installed, what is wrong with it)."""
    from importlib.metadata import version

    try:
        import llama_cpp  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        return "llama-cpp-python is not installed", [str(exc)]
    installed = version("llama-cpp-python")
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    wrong = [] if installed == LLAMA_VERSION else [f"version {installed}, asked {LLAMA_VERSION}"]
    wrong += mismatches(flags, info)
    if cuda and not offload:
        wrong.append(
            "ARENA_CUDA=1 asked for CUDA, but llama_supports_gpu_offload() is false: the build has no GPU backend"
        )
    backend = "CUDA + CPU" if offload else "CPU"
    line = f"llama-cpp-python {installed}, backend {backend} ({describe(flags)}), flags: {' '.join(flags)}"
    return line, wrong


def _main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    cpu = this_cpu()
    if "--cpuinfo" in argv:  # flags for another machine's CPU, from a copy of its /proc/cpuinfo
        at = argv.index("--cpuinfo") + 1
        try:
            cpu = parse_cpuinfo(Path(argv[at]).read_text(errors="replace"), cpu.arch)
        except (IndexError, OSError) as exc:
            print(f"--cpuinfo needs a readable copy of a /proc/cpuinfo file ({exc})", file=sys.stderr)
            return 2
    flags = cmake_flags(cpu)
    if "--cuda" in argv:
        flags = ["-DGGML_CUDA=on", *flags]
    if command == "check":
        line, wrong = check_installed(flags, "--cuda" in argv)
        print(line)
        for problem in wrong:
            print(f"mismatch: {problem}", file=sys.stderr)
        return 1 if wrong else 0
    if command == "flags":
        print(" ".join(flags))
    elif command == "key":
        print(cache_key(LLAMA_VERSION, flags))
    elif command == "describe":
        print(describe(flags))
    elif command == "version":
        print(LLAMA_VERSION)
    else:
        print("usage: llama_build.py flags|key|describe|version|check [--cuda] [--cpuinfo FILE]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
