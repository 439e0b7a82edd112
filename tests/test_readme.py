"""The README says what the program and CI do (issue 19): its commands are CI's, and its
"Where your data is" table is what the command line does and what --help says."""

from __future__ import annotations

import re
from pathlib import Path

from carta_trio.cli import SAMPLE_FOLDER, parse_settings
from carta_trio.options import usage

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _code_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_readme_test_command_is_the_one_ci_runs() -> None:
    command = _code_blocks(_section("Test it"))
    assert len(command) == 1
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert command[0] in ci, "README's test command and .ci/run differ"
    assert _code_blocks(_section("Run it")) == ["pip install . && carta-trio"]


def test_readme_says_how_to_get_chromium() -> None:
    text = _section("Test it")
    assert "apt-get install chromium" in text and "/usr/bin/chromium" in text


def _folders(argv: list[str]) -> tuple[str, str]:
    settings, _ = parse_settings(argv + ["--no_user_config", "--no_system_config"], {"HOME": "/nonexistent"},
                                 None, Path("/nonexistent/backend.json"))
    return str(settings.top_level_folder), str(settings.starting_folder)


def test_where_your_data_is_table_matches_the_command_line(tmp_path: Path) -> None:
    top = tmp_path.resolve()
    data = top / "data"
    data.mkdir()
    table = _section("Where your data is")
    for row in ("| `carta-trio` | `/` |", "| `carta-trio DIR` | `/`", "| `carta-trio --base DIR` | `DIR`",
                "| `carta-trio --top_level_folder TOP DIR` | `TOP` | `DIR`"):
        assert row in table, row
    assert _folders([]) == ("/", str(SAMPLE_FOLDER.resolve()))
    assert _folders([str(data)]) == ("/", str(data))
    assert _folders(["--base", str(data)]) == (str(data), str(data))
    assert _folders(["--top_level_folder", str(top), str(data)]) == (str(top), str(data))


def test_help_and_readme_agree_on_base_and_positional_folder() -> None:
    text = usage()
    assert "carta-trio DIR " in text and "carta-trio --base DIR " in text
    assert "--top_level_folder TOP DIR" in text
    assert "deprecated] set starting folder" not in text  # --base is not the positional folder
    assert "whole" in text and "file system" in text  # the default serves everything, behind the token
