"""What validation found: findings, and the report that gathers them.

A :class:`Finding` names one problem: its severity, a stable code, the store key (and, after
``#``, the path inside the JSON document: ``"temperature/zarr.json#attributes/proj:code"``)
and a message saying what is wrong and how to fix it. A :class:`Report` holds every finding
of one store and renders them as text lines or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

#: Severities from the most to the least serious.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

#: The key of findings about the store as a whole.
STORE_KEY = "/"


@dataclass(frozen=True)
class Finding:
    """One problem found in a store.

    Attributes
    ----------
    severity
        ``"error"`` (the store breaks a specification: readers fail or read wrong data),
        ``"warning"`` (readers cope, some tools will not) or ``"info"`` (worth knowing).
    code
        A stable short id, documented in ``docs/validate.md`` (``"PROJ-CODE-PATTERN"``).
    key
        The store key at fault, with the path inside the document after ``#``
        (``"a/zarr.json#attributes/spatial:transform"``); ``"/"`` for the whole store.
    message
        What is wrong, with the values involved.
    """

    severity: Severity
    code: str
    key: str
    message: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    def line(self) -> str:
        """The finding as one line of text: ``"ERROR CODE key: message"``."""
        return f"{self.severity.upper()} {self.code} {self.key}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """The finding as a JSON object."""
        return {"severity": self.severity, "code": self.code, "key": self.key,
                "message": self.message}


def attribute_key(document_key: str, *path: str | int) -> str:
    """``document_key#a/b/0``: a place inside a JSON document, as a JSON pointer without the
    leading slash ("~" and "/" inside a member name are escaped as ``~0`` and ``~1``)."""
    if not path:
        return document_key
    parts = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return f"{document_key}#{'/'.join(parts)}"


@dataclass(frozen=True)
class Report:
    """Every finding of one validated store.

    Attributes
    ----------
    target
        What was validated, as the user named it.
    findings
        The findings, most serious first within each key, keys in order.
    chunks_checked
        Whether every stored chunk was decoded (``--chunks``).
    """

    target: str
    findings: tuple[Finding, ...]
    chunks_checked: bool = False

    def count(self, severity: Severity) -> int:
        """How many findings have ``severity``."""
        return sum(1 for found in self.findings if found.severity == severity)

    def failed(self, *, strict: bool = False) -> bool:
        """Whether the store fails validation: any error, or with ``strict`` any warning."""
        return any(found.severity == "error" or (strict and found.severity == "warning")
                   for found in self.findings)

    def codes(self) -> frozenset[str]:
        """The codes found."""
        return frozenset(found.code for found in self.findings)

    def summary(self, *, strict: bool = False) -> str:
        """One line: the counts and the verdict."""
        verdict = "INVALID" if self.failed(strict=strict) else "valid"
        mode = " (strict: warnings count as errors)" if strict else ""
        return (f"{self.target}: {verdict}{mode}: {_plural(self.count('error'), 'error')}, "
                f"{_plural(self.count('warning'), 'warning')}, {self.count('info')} info")

    def lines(self, *, strict: bool = False) -> list[str]:
        """The text report: one line per finding, then the summary."""
        return [found.line() for found in self.findings] + [self.summary(strict=strict)]

    def to_json(self, *, strict: bool = False) -> dict[str, Any]:
        """The report as a JSON object: the verdict, the counts and the findings."""
        return {
            "target": self.target,
            "valid": not self.failed(strict=strict),
            "strict": strict,
            "chunks_checked": self.chunks_checked,
            "counts": {severity: self.count(severity) for severity in SEVERITIES},
            "findings": [found.to_json() for found in self.findings],
        }


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Findings grouped by the document they concern (the store and the root first), most
    serious first within each, then by key and code: the order a reader fixes them in."""
    def order(found: Finding) -> tuple[int, str, int, str, str]:
        document = found.key.split("#", 1)[0]
        depth = 0 if found.key == STORE_KEY else document.count("/") + 1
        return (depth, document, SEVERITIES.index(found.severity), found.key, found.code)
    return tuple(sorted(findings, key=order))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
