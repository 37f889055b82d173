"""Schemathesis against the live app, as a caregiver and as a clinician, with all its checks:
no 5xx, every response documented and conforming to the schema, invalid input refused,
authentication enforced. Examples are limited so that both runs take about a minute."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from diary.tokens import issue_token
from tests.seeding import seed_record

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "5")
# The coverage phase walks every enum value (600 time zones on a child) into thousands of
# requests: minutes, not seconds. Examples, random fuzzing and stateful sequences remain.
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")
# Business rules the schema cannot express (a date before the child's birth, a child of
# another family) are refused with a documented 400/404: schema-valid is not always valid.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""


@pytest.fixture
def api_tokens(world):
    """Token headers per role. The one place to change when staff tokens need a second factor."""
    return {
        role: f"Token {issue_token(user, 'fuzzer')[1]}"
        for role, user in {"caregiver": world.alice, "clinician": world.carol}.items()
    }


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed (dev extras)")
@pytest.mark.parametrize("role", ["caregiver", "clinician"])
def test_schemathesis_finds_nothing(world, live_server, api_tokens, tmp_path, role):
    seed_record(world.amy, world.alice, world.carol, "North")
    seed_record(world.ben, world.bob, world.dan, "South")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        "--header",
        f"Authorization: {api_tokens[role]}",
        # The token is the credential under test; no made-up session cookies beside it.
        "--generation-with-security-parameters",
        "false",
        "--max-examples",
        MAX_EXAMPLES,
        "--phases",
        PHASES,
        "--seed",
        "20261121",
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.log").write_text(output)
    assert result.returncode == 0, output[-20000:]
    assert "Tested:" in output
