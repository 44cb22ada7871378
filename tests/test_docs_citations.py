"""Every reference a comment or a page makes resolves inside the repository.

Comments used to cite sections of QuickBooks fact sheets kept outside the repository; they now cite our own
notes (docs/quickbooks.md and docs/quickbooks/) by page and anchor. These tests keep it that way: no file
outside docs/ cites an outside document, and every `docs/<page>.md#<anchor>` written anywhere, like every
relative link between the pages under docs/, points to a page that exists and a heading that exists in it.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = {".py", ".html", ".md", ".sh", ".ini", ".toml", ".txt", ".js", ".css", ".yml", ".yaml"}
# Spelled in pieces so that this file does not match itself.
OUTSIDE = (
    "\u00a7",
    "qbo-api" + ".md",
    "field-" + "lessons",
    "../" + "shared",
    "/work/" + "shared",
    "STYLE" + ".md",
    "STYLE" + " C",
)
CITATION = re.compile(r"(?<![\w/.-])(docs/[\w./-]*?\.md)(?:#([\w-]+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+?\.md)(?:#([^)\s]+))?\)")
FENCE = re.compile(r"^\s*(`{2,}|~{3,})")


def _files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # no git: walk the tree
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not {".git", ".venv", "node_modules"} & set(p.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in sorted(names) if Path(name).suffix in SUFFIXES and (ROOT / name).is_file()]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


@cache
def _anchors(path: Path) -> frozenset[str]:
    anchors, seen, fenced = set(), {}, False
    for line in _text(path).splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    anchors.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", _text(path)))
    return frozenset(anchors)


def _broken(target: Path, anchor: str | None) -> str | None:
    if not target.is_file():
        return "no such file"
    if anchor and target.suffix == ".md" and anchor not in _anchors(target):
        return f"no heading with the anchor #{anchor}"
    return None


def test_it_cites_no_document_outside_the_repository():
    offenders = []
    for path in _files():
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "docs":
            continue
        for number, line in enumerate(_text(path).splitlines(), 1):
            if any(mark in line for mark in OUTSIDE):
                offenders.append(f"{relative}:{number}: {line.strip()[:120]}")
    assert not offenders, "Cite docs/quickbooks.md (page#anchor) instead:\n" + "\n".join(offenders)


def test_it_cites_only_pages_and_anchors_that_exist():
    broken = []
    for path in _files():
        for number, line in enumerate(_text(path).splitlines(), 1):
            for match in CITATION.finditer(line):
                problem = _broken(ROOT / match.group(1), match.group(2))
                if problem:
                    broken.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}: {problem}")
    assert not broken, "\n".join(broken)


def test_it_links_the_docs_pages_to_each_other_correctly():
    broken = []
    for path in _files():
        relative = path.relative_to(ROOT)
        if relative.parts[0] != "docs" or path.suffix != ".md":
            continue
        for number, line in enumerate(_text(path).splitlines(), 1):
            for match in MARKDOWN_LINK.finditer(line):
                target, anchor = match.group(1), match.group(2)
                if "://" in target:
                    continue
                problem = _broken((path.parent / target).resolve(), anchor)
                if problem:
                    broken.append(f"{relative}:{number}: {match.group(0)}: {problem}")
            for anchor in re.findall(r"\]\(#([^)\s]+)\)", line):  # links within the same page
                if anchor not in _anchors(path):
                    broken.append(f"{relative}:{number}: #{anchor}: no heading with that anchor")
    assert not broken, "\n".join(broken)


def test_it_makes_github_anchors():
    assert _slug("Idempotent writes: `requestid`") == "idempotent-writes-requestid"
    assert _slug("Revoking replaced sign-ins (to verify in Intuit's sandbox)") == (
        "revoking-replaced-sign-ins-to-verify-in-intuits-sandbox"
    )
    assert _slug("intuit-oauth AuthClient") == "intuit-oauth-authclient"
    assert _slug("Envelope, Id and SyncToken") == "envelope-id-and-synctoken"
