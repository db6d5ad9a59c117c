"""wapiti for scripts/security-scan: its command line, and the summary of its JSON report.

A module beside the script (scripts/ is on sys.path when the script runs), so the script keeps
to the 400-line rule.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

# Attack modules (wapiti --list-modules). Not ssrf/xxe/log4shell: they need wapiti's Internet
# endpoint; not ssl/https_redirect: the scanned server is plain http on 127.0.0.1; timesql is
# slow and the sql module's boolean and error checks cover the same parameters.
MODULES = [
    "exec",
    "file",
    "sql",
    "xss",
    "permanentxss",
    "redirect",
    "crlf",
    "ldap",
    "upload",
    "csrf",
    "methods",
    "http_headers",
    "cookieflags",
    "csp",
    "backup",
]
# Wapiti's categories that mean "an injectable parameter": any one fails the scan, whatever
# its level.
INJECTIONS = {
    "SQL Injection",
    "Blind SQL Injection",
    "Cross Site Scripting",
    "Reflected Cross Site Scripting",
    "Stored Cross Site Scripting",
    "Command execution",
    "Path Traversal",
    "CRLF Injection",
    "LDAP Injection",
    "Open Redirect",
    "Potentially dangerous file",
    "Unrestricted File Upload",
    "XML External Entity",
}
HIGH_LEVEL = 3  # wapiti: 4 critical, 3 high, 2 medium, 1 low, 0 info
LEVELS = {4: "critical", 3: "high", 2: "medium", 1: "low", 0: "info"}


def wapiti_command(
    tools: Path, base: str, cookie: str, scratch: Path, output: Path, seconds: tuple[int, int]
) -> list[str]:
    """The wapiti command line: logged-in crawl from the main pages, every module, JSON out.
    `seconds` is (crawl, each attack module)."""
    crawl_seconds, attack_seconds = seconds
    starts = ("/admin/", "/admin/campaigns", "/dev/phone", "/q/spring", "/q/points", "/q/bike")
    return [
        str(tools / "bin" / "wapiti"),
        *("--url", base + "/", "--scope", "folder", "--module", ",".join(MODULES)),
        *("--cookie-value", f"session={cookie}"),
        *("--exclude", base + "/admin/logout"),  # stay logged in
        *[part for start in starts for part in ("--start", base + start)],
        *("--depth", "6", "--max-links-per-page", "100"),
        *("--max-scan-time", str(crawl_seconds)),  # the crawl only
        *("--max-attack-time", str(attack_seconds)),  # each module
        # "paranoid": few URLs that differ only in their query's values (the stats pages'
        # day and campaign links would otherwise take every module's time), all forms.
        *("--scan-force", "paranoid", "--timeout", "10", "--tasks", "4"),
        *("--flush-session", "--store-session", str(scratch / "wapiti-session")),
        *("--store-config", str(scratch / "wapiti-config")),
        *("--format", "json", "--output", str(output), "--detailed-report", "1"),
        *("--verbose", "1", "--no-bugreport"),
    ]


def summarise_wapiti(
    report: dict[str, Any], log_text: str, attack_seconds: int
) -> tuple[bool, list[str]]:
    """(failed, summary lines) of a wapiti JSON report and its log."""
    crawled = report.get("infos", {}).get("crawled_pages_nbr", "?")
    pages = [
        page.get("request", {}).get("url", "")
        for page in report.get("infos", {}).get("crawled_pages", [])
    ]
    console_pages = sum(1 for url in pages if "/admin/" in url and "/admin/login" not in url)
    lines = [
        f"- wapiti {report.get('infos', {}).get('version', '')}: {crawled} pages and forms crawled"
        + (f", {console_pages} of them console pages (logged in)" if pages else "")
    ]
    cut_short = re.findall(r"Max attack time was reached for module (\w+)", log_text)
    if cut_short:
        lines.append(
            f"  - modules stopped at {attack_seconds} s (the rest of their payloads untried): "
            + ", ".join(cut_short)
        )
    failed = False
    if pages and console_pages == 0:
        lines.append("  - FAILED: the scan never reached a console page: it was not logged in")
        failed = True
    found_bad, found = wapiti_findings(report)
    failed |= found_bad
    lines += found
    if not any(report.get("vulnerabilities", {}).values()) and not any(
        report.get("anomalies", {}).values()
    ):
        lines.append("  - no findings")
    return failed, lines


# -- the server ----------------------------------------------------------------------------------


def wapiti_findings(report: dict[str, Any]) -> tuple[bool, list[str]]:
    """(failed, lines): each category of findings; injections and high levels fail."""
    failed = False
    lines: list[str] = []
    for section in ("vulnerabilities", "anomalies"):
        for category, findings in sorted(report.get(section, {}).items()):
            if not findings:
                continue
            levels = Counter(LEVELS.get(f.get("level", 0), "?") for f in findings)
            worst = max(f.get("level", 0) for f in findings)
            bad = (
                category in INJECTIONS or worst >= HIGH_LEVEL or category == "Internal Server Error"
            )
            failed |= bad
            described = ", ".join(f"{n} {level}" for level, n in levels.items())
            lines.append(f"  - {'FAILED: ' if bad else ''}{category}: {described}")
            for finding in findings[:6]:
                where = f"{finding.get('method', '')} {finding.get('path', '')}"
                parameter = finding.get("parameter") or ""
                info = re.sub(r"\s+", " ", finding.get("info", ""))[:140]
                lines.append(f"    - {where} {parameter}: {info}".rstrip())
    return failed, lines
