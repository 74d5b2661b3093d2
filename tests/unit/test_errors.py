"""Error codes are one enumeration (companion/errors.py), documented once (docs/errors.md)."""

from __future__ import annotations

import ast
import json
import re

import pytest

from companion.errors import ErrorCode, LookError, errors_markdown
from companion.panel.layout import ERROR_KINDS
from companion.server.envelope import HTTP_CODES
from tests.support.data import REPO


def test_docs_errors_md_is_rendered_from_the_enumeration():
    written = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    assert written == errors_markdown(), (
        "docs/errors.md is out of date: run `python -m companion.errors > docs/errors.md`")


def test_every_code_is_documented_with_a_meaning_and_an_origin():
    for code in ErrorCode:
        assert code.meaning.endswith("."), code
        assert code.origin in {"companion", "extension", "panel window"}, code
        assert f"| `{code}` | {code.meaning} |" in errors_markdown()


def test_a_string_code_becomes_its_member_and_still_compares_equal_to_the_string():
    error = LookError("image_empty", "The image is empty.")
    assert error.code is ErrorCode.IMAGE_EMPTY
    assert error.code == "image_empty"
    assert str(error) == "image_empty: The image is empty."
    assert json.dumps(error.to_dict()) == (
        '{"code": "image_empty", "message": "The image is empty."}')


def test_an_unknown_code_is_refused_where_it_is_written():
    with pytest.raises(ValueError, match="image_emtpy"):
        LookError("image_emtpy", "a typo")


def _literal_codes_of_look_errors() -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO / "companion").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "LookError"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.append((str(path.relative_to(REPO)), node.args[0].value))
    return found


def test_every_look_error_written_with_a_string_uses_a_known_code():
    unknown = [(path, code) for path, code in _literal_codes_of_look_errors()
               if code not in set(ErrorCode)]
    assert unknown == []


def test_the_server_and_the_panel_map_only_known_codes():
    assert set(HTTP_CODES.values()) <= set(ErrorCode)
    assert set(ERROR_KINDS) <= set(ErrorCode)


def test_every_code_the_extension_understands_is_in_the_enumeration():
    source = (REPO / "extension" / "utils" / "failure.js").read_text(encoding="utf-8")
    table = source.split("FAILURE_MESSAGES = {", 1)[1].split("};", 1)[0]
    codes = re.findall(r"^\s*(\w+):", table, flags=re.MULTILINE)
    assert len(codes) > 20
    assert set(codes) - set(ErrorCode) == set()
