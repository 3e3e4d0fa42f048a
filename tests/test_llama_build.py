"""The llama-cpp-python build: flags read from the CPU, the cache key, the installed-build check and
the native probe that turns a crashing library into a setup error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_arena import llama_build as lb
from pytest_arena.engine.student import StudentError
from pytest_arena.students import native_probe

from .helpers import ROOT, run_pytest

EPYC_AVX2 = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B12\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
    "sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid "
    "extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 x2apic movbe popcnt aes xsave "
    "avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw "
    "topoext ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 rdseed adx smap clflushopt "
    "clwb sha_ni xsaveopt xsavec xgetbv1 clzero xsaveerptr arat npt nrip_save umip rdpid\n"
)
XEON_AMX = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
    "sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid "
    "tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c "
    "rdrand hypervisor lahf_lm abm 3dnowprefetch ssbd ibrs ibpb stibp ibrs_enhanced fsgsbase tsc_adjust bmi1 "
    "hle avx2 smep bmi2 erms invpcid rtm avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd "
    "sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx_vnni avx512_bf16 arat avx512vbmi umip pku "
    "ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq la57 rdpid "
    "cldemote movdiri movdir64b fsrm md_clear serialize tsxldtrk amx_bf16 avx512_fp16 amx_tile amx_int8 "
    "flush_l1d arch_capabilities\n"
)
OLD_NO_AVX2 = (
    "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
    "sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 "
    "cx16 pcid sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx hypervisor lahf_lm\n"
)
ARM64 = (
    "processor\t: 0\nBogoMIPS\t: 243.75\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop "
    "asimddp ssbs i8mm bf16\nCPU implementer\t: 0x41\n"
)


def flags_for(text: str, machine: str = "x86_64") -> dict[str, str]:
    flags = lb.cmake_flags(lb.parse_cpuinfo(text, machine))
    return dict(flag[2:].split("=", 1) for flag in flags)


def test_an_avx2_only_epyc_gets_no_avx512() -> None:
    flags = flags_for(EPYC_AVX2)
    assert flags["GGML_NATIVE"] == "OFF"
    assert flags["GGML_AVX2"] == flags["GGML_FMA"] == flags["GGML_F16C"] == flags["GGML_BMI2"] == "ON"
    assert flags["GGML_AVX512"] == flags["GGML_AVX512_VNNI"] == flags["GGML_AVX512_BF16"] == "OFF"
    assert flags["GGML_AMX_INT8"] == flags["GGML_AMX_TILE"] == "OFF"


def test_an_amx_xeon_gets_avx512_and_never_amx() -> None:
    flags = flags_for(XEON_AMX)
    assert flags["GGML_AVX512"] == flags["GGML_AVX512_VBMI"] == flags["GGML_AVX512_VNNI"] == "ON"
    assert flags["GGML_AVX512_BF16"] == flags["GGML_AVX_VNNI"] == "ON"
    assert flags["GGML_AMX_TILE"] == flags["GGML_AMX_INT8"] == flags["GGML_AMX_BF16"] == "OFF"


def test_a_cpu_without_avx2_has_every_missing_default_switched_off() -> None:
    # With GGML_NATIVE=OFF ggml turns AVX2/FMA/F16C/BMI2 on unless told otherwise: each must be OFF.
    flags = flags_for(OLD_NO_AVX2)
    assert flags["GGML_AVX"] == flags["GGML_SSE42"] == "ON"
    for option in ("GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2", "GGML_AVX512"):
        assert flags[option] == "OFF", option


def test_arm64_gets_an_arm_architecture_with_its_extensions() -> None:
    flags = flags_for(ARM64, "aarch64")
    assert flags["GGML_CPU_ARM_ARCH"] == "armv8.2-a+dotprod+fp16+i8mm"
    assert "GGML_AVX2" not in flags and flags["GGML_AMX_INT8"] == "OFF"
    bare = flags_for("Features\t: fp asimd\n", "aarch64")
    assert bare["GGML_CPU_ARM_ARCH"] == "armv8-a"


def test_the_cache_key_follows_the_flags_and_the_version() -> None:
    epyc = lb.cmake_flags(lb.parse_cpuinfo(EPYC_AVX2, "x86_64"))
    xeon = lb.cmake_flags(lb.parse_cpuinfo(XEON_AMX, "x86_64"))
    assert lb.cache_key("0.3.36", epyc) != lb.cache_key("0.3.36", xeon)
    assert lb.cache_key("0.3.36", epyc) != lb.cache_key("0.3.37", epyc)
    assert lb.cache_key("0.3.36", epyc) == lb.cache_key("0.3.36", list(epyc))
    assert lb.cache_key("0.3.36", epyc) != lb.cache_key("0.3.36", ["-DGGML_CUDA=on", *epyc])


def test_a_build_that_reports_other_features_than_asked_is_a_mismatch() -> None:
    flags = lb.cmake_flags(lb.parse_cpuinfo(XEON_AMX, "x86_64"))
    built_for_avx2 = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | REPACK = 1 | "
    wrong = lb.mismatches(flags, built_for_avx2)
    assert any(line.startswith("AVX512:") for line in wrong)
    assert lb.mismatches(lb.cmake_flags(lb.parse_cpuinfo(EPYC_AVX2, "x86_64")), built_for_avx2) == []
    assert "AMX_INT8: built on, never allowed" in lb.mismatches(flags, built_for_avx2 + "AMX_INT8 = 1 | ")


@pytest.mark.slow
def test_the_installed_build_is_the_one_asked_for_and_a_lying_stamp_is_caught() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    script = ROOT / "pytest_arena" / "llama_build.py"
    ok = subprocess.run([sys.executable, str(script), "check"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("llama-cpp-python 0.3.36, backend ") and "-DGGML_AMX_INT8=OFF" in ok.stdout
    # ./run checks the library on every setup, whatever its stamp says: asking for what this build
    # lacks (here CUDA on a CPU build, or the opposite AVX-512 state) must fail.
    line, wrong = lb.check_installed(lb.cmake_flags(lb.this_cpu()), cuda=True)
    offload = "CUDA" in line
    assert offload or any("llama_supports_gpu_offload() is false" in w for w in wrong)
    flipped = [
        f.replace("AVX512=ON", "AVX512=X").replace("AVX512=OFF", "AVX512=ON").replace("AVX512=X", "AVX512=OFF")
        for f in lb.cmake_flags(lb.this_cpu())
    ]
    assert any(w.startswith("AVX512:") for w in lb.check_installed(flipped, cuda=False)[1])


@pytest.fixture
def sigill_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A llama_cpp package whose import kills the process with SIGILL, as a wheel built for
    AVX-512 does on an AVX2-only CPU, first on the path of this process and of its children."""
    fake = tmp_path / "fake"
    (fake / "llama_cpp" / "lib").mkdir(parents=True)
    (fake / "llama_cpp" / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    (fake / "llama_cpp" / "lib" / "libllama.so").write_bytes(b"\x7fELF not really")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return fake


def test_a_probe_child_killed_by_sigill_becomes_a_clear_error(
    sigill_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(sigill_library))
    monkeypatch.delitem(sys.modules, "llama_cpp", raising=False)  # find_spec looks there first
    native_probe.installed_library.cache_clear()
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    try:
        with pytest.raises(StudentError) as first:
            native_probe.probe(model, 0)
        message = str(first.value)
        assert "SIGILL" in message and "./run setup --rebuild-llama" in message
        assert str(sigill_library / "llama_cpp") in message
        # The verdict is cached per library and model: the second call spawns nothing.
        (sigill_library / "llama_cpp" / "__init__.py").write_text("")
        with pytest.raises(StudentError, match="SIGILL"):
            native_probe.probe(model, 0)
    finally:
        native_probe.installed_library.cache_clear()


@pytest.mark.slow
def test_a_crashing_native_library_errors_the_items_and_the_run_goes_on(sigill_library: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = run_pytest(
        "--arena", "--arena-root=fixtures/python", "-k", "uniq", "--arena-student", "default",
        "--arena-student", "reference", f"--arena-reports={tmp_path / 'reports'}", f"--junitxml={junit}",
    )  # fmt: skip
    assert run.returncode == 1, run.output
    assert "1 passed" in run.stdout and "1 error" in run.stdout, run.stdout[-3000:]
    assert "died of SIGILL" in run.stdout and "--rebuild-llama" in run.stdout
    assert "Fatal Python error" not in run.output


def test_the_command_line_reads_another_machines_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(EPYC_AVX2)
    script = ROOT / "pytest_arena" / "llama_build.py"
    flags = subprocess.run(
        [sys.executable, str(script), "flags", "--cpuinfo", str(cpuinfo)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "-DGGML_AVX2=ON" in flags and "-DGGML_AVX512=OFF" in flags and "-DGGML_AMX_INT8=OFF" in flags
    cuda = subprocess.run(
        [sys.executable, str(script), "key", "--cuda", "--cpuinfo", str(cpuinfo)], capture_output=True, text=True
    ).stdout.strip()
    assert cuda == lb.cache_key(lb.LLAMA_VERSION, ["-DGGML_CUDA=on", *flags])
    bad = subprocess.run([sys.executable, str(script), "nonsense"], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage:" in bad.stderr
    for missing in (["--cpuinfo", str(tmp_path / "absent")], ["--cpuinfo"]):
        gone = subprocess.run([sys.executable, str(script), "flags", *missing], capture_output=True, text=True)
        assert gone.returncode == 2 and "--cpuinfo needs a readable copy" in gone.stderr, gone.stderr
        assert "Traceback" not in gone.stderr
