"""The README and docs/ hold together: every relative link names a file of the repository and
every #anchor a heading of its page, the Quick start keeps the lines CI and the team copy, and
the README stays a short tour (the reference lives in docs/)."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)


def prose(text: str) -> str:
    """The page without fenced blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to '-'."""
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a page, numbered as GitHub numbers repeated headings."""
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", page.read_text()).splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[str]:
    """The page's relative link targets (web, mail and other schemes left out)."""
    targets = LINK.findall(prose(page.read_text()))
    return [t for t in targets if not re.match(r"[a-zA-Z][\w+.-]*:", t)]


def test_the_pages_have_links_to_check() -> None:
    assert len(PAGES) >= 20
    assert len(links(REPO / "README.md")) >= 20


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_to_a_file_and_an_anchor(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or REPO not in (file, *file.parents):
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(REPO)}")
    assert broken == []


def test_the_checker_sees_a_broken_file_and_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Two `words`, here\n\n[a](#two-words-here) [b](#nowhere) [c](gone.md)"
        " `[d](not-a-link.md)` [e](https://example.com)\n\n```\n[f](in-a-fence.md)\n```\n"
    )
    assert anchors(page) == {"title", "two-words-here"}
    assert links(page) == ["#two-words-here", "#nowhere", "gone.md"]


def test_the_quick_start_keeps_ci_s_line_at_line_17_and_the_readme_stays_short() -> None:
    lines = (REPO / "README.md").read_text().splitlines()
    ci = (REPO / ".ci" / "run").read_text().splitlines()[-1]
    assert lines[12] == "## Quick start" and lines[14] == "```bash"
    assert lines[15].startswith("python3 -m venv .venv && ")
    assert lines[16] == ci
    assert len(lines) < 250


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {Path(t.partition("#")[0]).name for t in links(REPO / "README.md")}
    assert [p.name for p in PAGES[1:] if p.name not in linked] == []


def test_no_tracked_file_keeps_a_merge_conflict_marker() -> None:
    """A merge resolved in a hurry once left both sides in ARCHITECTURE.md; git's markers at the
    start of a line are never content of ours."""
    import subprocess

    listed = (
        subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    marker = re.compile(r"^(<{7}|>{7}) ", re.M)
    found = []
    for name in filter(None, listed):
        path = REPO / name
        if path.suffix in {".lock", ".png"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if marker.search(text):
            found.append(name)
    assert found == []
