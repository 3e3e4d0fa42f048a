"""How pytest shows each outcome: the progress letter and the word `-v` prints."""

from __future__ import annotations

# The outcome classes' names; "." and PASSED are pytest's own, so a passed item reads as any other.
SHOWN: dict[str, tuple[str, str]] = {
    "DriverError": ("D", "DRIVER_ERROR"),
    "HarnessError": ("H", "HARNESS_ERROR"),
    "WallTimeout": ("W", "WALLTIMEOUT"),
    "ContextExhausted": ("X", "CONTEXT_EXHAUSTED"),
    "ComplianceTrap": ("T", "TRAP"),
    "AgentTextLoop": ("L", "TEXTLOOP"),
    "TamperDetected": ("!", "TAMPERED"),
    "OraclePassed": (".", "PASSED"),
    "ComplianceFailed": ("C", "NONCOMPLIANT"),
    "OracleFailedAfterMaxTurns": ("M", "MAXTURNS"),
    "OracleFailed": ("F", "ORACLE_FAILED"),
}
