"""The paramiko names outside its public API that the pipelined SFTP walk relies on.

collect/sftp.py's ``PipelinedWalk`` keeps many READDIR requests in flight, which
paramiko's public ``SFTPClient`` cannot do. It uses paramiko's request and reply
machinery directly. pyproject.toml pins paramiko to the versions this was tested
with; when a new paramiko changes these names, this test says which one, before
a collection against a real node fails.
"""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path

import paramiko
import paramiko.sftp
import pytest
from packaging.requirements import Requirement

from sphinxcontrib_scmmonitor.collect import sftp

ROOT = Path(__file__).resolve().parent.parent


def paramiko_requirement() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [spec] = [d for d in project["dependencies"] if d.startswith("paramiko")]
    return Requirement(spec)


def test_the_installed_paramiko_is_in_the_pinned_range() -> None:
    requirement = paramiko_requirement()
    assert requirement.specifier, "paramiko must have an upper bound: its private names move"
    assert any(s.operator == "<" for s in requirement.specifier), requirement
    assert requirement.specifier.contains(paramiko.__version__), \
        f"paramiko {paramiko.__version__} is outside {requirement}: test it, then widen the pin"


@pytest.mark.parametrize("name", ["CMD_CLOSE", "CMD_HANDLE", "CMD_NAME", "CMD_OPENDIR",
                                  "CMD_READDIR", "CMD_STATUS"])
def test_the_sftp_message_numbers_exist_and_are_the_protocols(name: str) -> None:
    # draft-ietf-secsh-filexfer-02, the SFTP version paramiko speaks
    expected = {"CMD_OPENDIR": 11, "CMD_READDIR": 12, "CMD_CLOSE": 4, "CMD_STATUS": 101,
                "CMD_HANDLE": 102, "CMD_NAME": 104}[name]
    assert getattr(paramiko.sftp, name) == expected
    assert getattr(sftp, name) == expected  # the walk uses these very objects


def test_the_request_and_reply_methods_the_walk_calls_exist() -> None:
    client = paramiko.SFTPClient
    request = inspect.signature(client._async_request)
    assert list(request.parameters)[:3] == ["self", "fileobj", "t"], request
    assert any(p.kind is p.VAR_POSITIONAL for p in request.parameters.values()), request
    read = inspect.signature(client._read_response)
    assert list(read.parameters)[:2] == ["self", "waitfor"], read
    assert read.parameters["waitfor"].default is None, read
    assert callable(client._convert_status)
    assert callable(paramiko.SFTPAttributes._from_msg)


def test_paramiko_hands_replies_to_the_requests_owner_by_the_name_the_walk_defines() -> None:
    # _read_response calls fileobj._async_response(t, msg, num) for a request sent with
    # _async_request(fileobj, ...): the walk is that fileobj
    source = inspect.getsource(paramiko.SFTPClient._read_response)
    assert "_async_response(" in source, "paramiko no longer calls _async_response"
    walk = inspect.signature(sftp.PipelinedWalk._async_response)
    assert list(walk.parameters) == ["self", "t", "msg", "num"], walk
