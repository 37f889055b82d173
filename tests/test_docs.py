"""The README is a short front door and docs/ the reference beside it: every link leads somewhere,
every docs file is reachable from the README, and every setting is documented somewhere."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 150

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]{2,}")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """TEXT's lines outside fenced code blocks: a `#` in a shell block is not a heading."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def links(path: Path) -> list[str]:
    """Every link target of PATH's prose (code spans and blocks are examples, not links)."""
    found = []
    for line in prose_lines(path.read_text()):
        found += LINK.findall(CODE_SPAN.sub("", line))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in prose_lines(path.read_text()):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target))


def resolve(source: Path, target: str) -> tuple[Path, str]:
    """The file and anchor a relative link of SOURCE leads to."""
    file_part, _sep, anchor = target.partition("#")
    return (source.parent / file_part).resolve() if file_part else source, anchor


def test_the_readme_is_a_front_door_under_150_lines():
    lines = README.read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    first_screen = "\n".join(lines[:10])
    assert "make run" in first_screen and "make test" in first_screen, "the two commands first"


def test_docs_exist_one_file_per_area():
    names = {path.name for path in DOCS.glob("*.md")}
    expected = {
        "diary.md",
        "treatment-and-phases.md",
        "outcomes-and-statistics.md",
        "labs-and-reminders.md",
        "data-import-export.md",
        "research-export.md",
        "security.md",
        "operations.md",
        "api.md",
        "performance.md",
    }
    assert expected <= names, f"missing: {sorted(expected - names)}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.name)
def test_every_relative_link_leads_to_a_file_and_its_heading(path):
    broken = []
    for target in links(path):
        if is_external(target):
            continue
        file, anchor = resolve(path, target)
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif not file.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert not broken, f"{path.name}: " + "; ".join(broken)


def test_every_docs_file_is_linked_from_the_readme():
    linked = {resolve(README, target)[0] for target in links(README) if not is_external(target)}
    orphans = [path.name for path in DOCS.glob("*.md") if path.resolve() not in linked]
    assert not orphans, f"not linked from README.md: {orphans}"


# Folders of the repository a code span may name a file in; what a run writes is not there yet.
REPOSITORY_FOLDERS = ("config/", "diary/", "outcomes/", "tests/", "bench/", "templates/", ".ci/")
GENERATED = ("bench/results/",)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.name)
def test_every_file_the_docs_name_exists(path):
    """A module or test named in `code` (e.g. `outcomes/phases.py`) still exists: code that moves
    takes its documentation with it."""
    stale = []
    for span in re.findall(r"`([^`\n]+)`", path.read_text()):
        named = span.split("::")[0]
        if not named.startswith(REPOSITORY_FOLDERS) or named.startswith(GENERATED):
            continue
        if re.search(r"[\s*…<>{}]", named):  # a pattern or a command, not a path
            continue
        if not (ROOT / named).exists():
            stale.append(named)
    assert not stale, f"{path.name} names files that do not exist: {stale}"


def settings_variables() -> set[str]:
    """Every environment variable config/settings.py reads: the first argument of a call to a
    plain function (its env_* helpers, broker_url, _key, _bands) or to os.environ.get."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        environ_get = (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "environ"
        )
        if not (isinstance(func, ast.Name) or environ_get):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if ENV_NAME.fullmatch(first.value):
            names.add(first.value)
    return names


def test_every_setting_read_from_the_environment_is_documented():
    variables = settings_variables()
    # The parser finds what it must, so that an empty set cannot pass.
    assert {"DATABASE_URL", "SECRET_KEY", "AGS_SCALE_BANDS", "APP_VERSION"} <= variables
    text = "\n".join(path.read_text() for path in markdown_files())
    missing = sorted(name for name in variables if not re.search(rf"\b{name}\b", text))
    assert not missing, f"read by config/settings.py but in neither README.md nor docs/: {missing}"


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The link and anchor checks fail where they should: a missing file, a missing heading,
    a duplicate heading's second anchor; code is not mistaken for links or headings."""
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Sign-in and sessions\n\n## `make bench`: figures\n\n## Notes\n\n## Notes\n\n"
        "```sh\n# not a heading\n```\n\n"
        "[a](other.md) [b](#notes-1) [c](#nowhere) `[d](ignored.md)` [e](https://example.org)\n"
    )
    (tmp_path / "other.md").write_text("# Other\n")
    assert anchors(page) == {
        "title",
        "sign-in-and-sessions",
        "make-bench-figures",
        "notes",
        "notes-1",
    }
    assert links(page) == ["other.md", "#notes-1", "#nowhere", "https://example.org"]
    assert resolve(page, "other.md")[0].exists()
    assert not resolve(page, "missing.md")[0].exists()
    assert "nowhere" not in anchors(page)
    assert slug("FHIR R4: the record out to the hospital, lab results in") == (
        "fhir-r4-the-record-out-to-the-hospital-lab-results-in"
    )
