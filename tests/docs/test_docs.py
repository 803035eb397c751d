"""The docs stay true: the API page names exactly the OpenAPI document's routes, the README stays
a front door, links stay inside the repository and resolve, and the figures files are what the
measuring commands write, not hand edits.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bench import figures
from bench.figures import Figures
from reliability.federation import FIGURES as FEDERATION
from reliability.table import FIGURES as RELIABILITY

from greenlane.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
API = DOCS / "api.md"
OPERATIONS = DOCS / "operations.md"
OPENAPI = ROOT / "openapi" / "openapi.json"
README_MAX_LINES = 300

FIGURES = (
    figures.VERIFY,
    figures.ELIGIBILITY,
    figures.STATUS_LISTS,
    figures.TRIP_TOKENS,
    figures.PROFILE,
    figures.LOADTEST,
    RELIABILITY,
    FEDERATION,
)
FIGURES_DIRECTORY = DOCS / "figures"

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# How the docs name a route: the method and the document's path template in one code span,
# perhaps with a query (`GET /v1/applications?status=`).
ROUTE = re.compile(r"`(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) (/[^`\s?]*)(?:\?[^`]*)?`")
FENCE = re.compile(r"^(```|~~~)")
INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
CODE_SPAN = re.compile(r"`[^`]*`")
# A path written out that climbs out of the folder it is in, linked or not.
CLIMBING_PATH = re.compile(r"(?<![\w/.])(?:\.\./)+[^\s`)\]>\"']*")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
HEADER = re.compile(
    r"^Measured by `(?P<command>[^`]+)` on "
    r"(?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC; nproc (?P<nproc>[1-9][0-9]*)\b"
)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def prose(text: str) -> str:
    """``text`` without its fenced code blocks, whose contents are code, not links or names."""
    kept: list[str] = []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --- (a) the API page and the OpenAPI document name the same routes ----------------------------


def operations() -> set[str]:
    document = json.loads(OPENAPI.read_text())
    paths: dict[str, dict[str, object]] = document["paths"]
    return {
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if method in HTTP_METHODS
    }


def routes_named(path: Path) -> set[str]:
    return {f"{method} {route}" for method, route in ROUTE.findall(prose(path.read_text()))}


def test_every_operation_of_the_openapi_document_is_in_the_api_page() -> None:
    missing = operations() - routes_named(API)
    assert not missing, f"docs/api.md does not name: {sorted(missing)}"


@pytest.mark.parametrize("path", markdown_files(), ids=shown)
def test_the_docs_name_only_routes_the_openapi_document_has(path: Path) -> None:
    unknown = routes_named(path) - operations()
    assert not unknown, f"{shown(path)} names routes the OpenAPI document lacks: {sorted(unknown)}"


def test_the_route_pattern_reads_the_forms_the_docs_use() -> None:
    text = "`GET /v1/travellers/{traveller_id}`, `GET /v1/applications?status=` and `GET` alone"
    assert ROUTE.findall(text) == [
        ("GET", "/v1/travellers/{traveller_id}"),
        ("GET", "/v1/applications"),
    ]
    assert "GET /v1/travellers/{traveller_id}" in operations()


# --- (b) the README is a front door ---------------------------------------------------------------


def test_the_readme_is_a_front_door() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move the detail to docs/"


# --- every setting is documented, and only settings that exist ---------------------------------


def test_the_operations_page_documents_every_setting() -> None:
    # Each Settings field is read from the variable of the same name, upper-cased.
    settings = {PREFIX + field.name.upper() for field in fields(Settings)}
    rows = [line for line in OPERATIONS.read_text().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(GREENLANE_[A-Z0-9_]+)`", row)}
    assert settings - documented == set(), "docs/operations.md's table lacks these settings"
    assert documented - settings == set(), "docs/operations.md's table names unknown settings"


# --- (c) links stay inside the repository and resolve -------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(text).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_targets(text: str) -> Iterator[str]:
    without_code = CODE_SPAN.sub("", prose(text))
    yield from INLINE_LINK.findall(without_code)
    yield from REFERENCE_LINK.findall(without_code)


def link_problems(path: Path, text: str) -> list[str]:
    """What is wrong with the links of ``text``, the Markdown file ``path``; one line each."""
    problems: list[str] = []
    for found in CLIMBING_PATH.findall(prose(text)):
        written = found.rstrip(".,;:")  # the end of a sentence, not of the path
        if not (path.parent / written).resolve().is_relative_to(ROOT):
            problems.append(f"{written}: a path outside the repository, which readers do not have")
    for target in link_targets(text):
        if not target or SCHEME.match(target):
            continue  # a web address, or mailto: readers can follow those
        file_part, _, anchor = target.partition("#")
        if not file_part:
            if anchor not in anchors(text):
                problems.append(f"{target}: no such heading here")
            continue
        if file_part.startswith("/"):
            problems.append(f"{target}: write links relative to the file, not from the root")
            continue
        resolved = (path.parent / file_part).resolve()
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
            continue
        if not resolved.exists():
            # A figures file appears when its command first runs; the link is right already.
            if resolved not in {FIGURES_DIRECTORY / spec.file for spec in FIGURES}:
                problems.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            problems.append(f"{target}: no heading {shown(resolved)}#{anchor}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=shown)
def test_links_stay_in_the_repository_and_resolve(path: Path) -> None:
    assert link_problems(path, path.read_text()) == []


def test_the_link_check_finds_what_it_must() -> None:
    text = "\n".join(
        [
            "# A page",
            "The [contract](../shared/contract.md), [a file](missing.md), [root](/README.md),",
            "[a heading](api.md#no-such-heading), [ok](api.md#routes), [here](#a-page),",
            "[not here](#elsewhere), [web](https://example.org/x), [a figures file not measured",
            "yet](figures/loadtest.md), and in prose ../../elsewhere/notes.md.",
            "```",
            "[in a code block](../ignored.md)",
            "```",
        ]
    )
    # Checked as if it were a page in docs/, without writing one there.
    assert link_problems(DOCS / "page.md", text) == [
        "../../elsewhere/notes.md: a path outside the repository, which readers do not have",
        "../shared/contract.md: no such file",
        "missing.md: no such file",
        "/README.md: write links relative to the file, not from the root",
        "api.md#no-such-heading: no heading docs/api.md#no-such-heading",
        "#elsewhere: no such heading here",
    ]
    assert link_problems(ROOT / "page.md", "[up](../outside.md)") == [
        "../outside.md: a path outside the repository, which readers do not have",
        "../outside.md: outside the repository",
    ]


def test_the_slugs_are_githubs() -> None:
    assert slug("Verifying at a lane: `POST /v1/verify`") == "verifying-at-a-lane-post-v1verify"
    assert slug("`make reliability`") == "make-reliability"
    assert slug("Found by these runs, and fixed") == "found-by-these-runs-and-fixed"


# --- (d) figures files are written by their commands --------------------------------------------


def split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [cell.strip().replace("\\|", "|") for cell in cells]


def figures_problems(text: str, spec: Figures) -> list[str]:
    """What makes ``text`` something other than a figures file its command wrote."""
    problems: list[str] = []
    lines = text.splitlines()
    if not lines or lines[0] != f"# Figures: `{spec.script}`":
        problems.append(f"the first line is not the title naming {spec.script}")
    headers = [match for line in lines if (match := HEADER.match(line))]
    if len(headers) != 1:
        problems.append("not one 'Measured by `<command>` on <date> UTC; nproc <n>' line")
    else:
        header = headers[0]
        if spec.script not in shlex.split(header["command"]):
            problems.append(f"the command {header['command']!r} does not run {spec.script}")
        when = datetime.strptime(header["when"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        if when > datetime.now(UTC) + timedelta(days=1):
            problems.append(f"measured in the future: {header['when']}")
    table = [i for i, line in enumerate(lines) if line.startswith("|")]
    if len(table) < 3:
        problems.append("no table with a header, a separator and a row")
        return problems
    if table != list(range(table[0], table[0] + len(table))):
        problems.append("the table is interrupted")
    columns, separator, *rows = (lines[i] for i in table)
    if tuple(split_row(columns)) != spec.columns:
        problems.append(f"the columns are {split_row(columns)}, not {list(spec.columns)}")
    if (
        not re.fullmatch(r"\|(?: ?:?-{3,}:? ?\|)+", separator)
        or separator.count("|") != len(spec.columns) + 1
    ):
        problems.append(f"the separator {separator!r} does not fit {len(spec.columns)} columns")
    for row in rows:
        if len(split_row(row)) != len(spec.columns):
            problems.append(f"a row without {len(spec.columns)} cells: {row}")
    return problems


@pytest.mark.parametrize("spec", FIGURES, ids=lambda spec: spec.file)
def test_a_figures_file_is_what_its_command_writes(spec: Figures) -> None:
    path = FIGURES_DIRECTORY / spec.file
    if not path.exists():
        # Written only by running the command (make bench, make loadtest ...), never by hand;
        # the writer itself is tested below, so this skip hides no untested code.
        pytest.skip(f"{shown(path)}: {spec.script} has not been run in this checkout yet")
    assert figures_problems(path.read_text(), spec) == []


def test_the_figures_directory_holds_only_figures_files() -> None:
    if not FIGURES_DIRECTORY.exists():
        pytest.skip("no figures measured in this checkout yet")
    expected = {spec.file for spec in FIGURES}
    found = {path.name for path in FIGURES_DIRECTORY.iterdir()}
    assert found <= expected, f"not written by a measuring command: {sorted(found - expected)}"


def test_the_verify_figures_put_greenlane_beside_the_peer() -> None:
    # make bench reports both systems from one run, their ratio and issue 20's goal, row by row.
    columns = ("figure", "greenlane", "peer", "greenlane ÷ peer", "goal")
    assert figures.VERIFY.columns == columns


def sample_rows(spec: Figures) -> list[list[str]]:
    return [[f"{column} 1" for column in spec.columns], ["a | b", *("—" for _ in spec.columns[1:])]]


@pytest.mark.parametrize("spec", FIGURES, ids=lambda spec: spec.file)
def test_the_writer_writes_what_the_check_accepts(spec: Figures, tmp_path: Path) -> None:
    when = datetime(2026, 11, 27, 14, 3, tzinfo=UTC)
    path = figures.write(
        spec, sample_rows(spec), argv=["--duration", "10"], when=when, directory=tmp_path
    )
    text = path.read_text()
    assert path == tmp_path / spec.file
    assert figures_problems(text, spec) == []
    header = next(match for line in text.splitlines() if (match := HEADER.match(line)))
    assert header["command"] == f"python {spec.script} --duration 10"
    assert header["when"] == "2026-11-27 14:03"
    assert int(header["nproc"]) == figures.nproc()
    rows = [split_row(line) for line in text.splitlines() if line.startswith("|")][2:]
    assert rows == sample_rows(spec)  # a "|" in a cell stays inside its cell


def test_the_check_refuses_hand_edits(tmp_path: Path) -> None:
    spec = RELIABILITY
    text = figures.write(spec, sample_rows(spec), argv=[], directory=tmp_path).read_text()
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Measured by"))
    first_row = next(i for i, line in enumerate(lines) if line.startswith("|")) + 2
    edits = {
        "no header": [line for i, line in enumerate(lines) if i != header],
        "another command": [line.replace(spec.script, "by/hand.py") for line in lines],
        "a renamed column": [line.replace("| kept |", "| ok |") for line in lines],
        "a row short of a cell": [
            line.rsplit("|", 2)[0] + "|" if i == first_row else line for i, line in enumerate(lines)
        ],
        "no rows": lines[:first_row] + lines[first_row + 2 :],
        "in the future": [line.replace(" on 20", " on 29") for line in lines],
    }
    for name, edited in edits.items():
        assert figures_problems("\n".join(edited), spec), f"{name} was not noticed"
    assert figures_problems(text, replace(spec, columns=("part",))) != []


def test_writing_replaces_the_previous_figures(tmp_path: Path) -> None:
    spec = figures.LOADTEST
    figures.write(spec, [["old", *("1" for _ in spec.columns[1:])]], argv=[], directory=tmp_path)
    path = figures.write(spec, sample_rows(spec), argv=[], directory=tmp_path)
    assert "old" not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == [spec.file]  # no partial file left behind
