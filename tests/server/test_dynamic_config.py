"""Dynamic config: KEY=VALUE parsing, types, defaults, and the CLI flag."""

from __future__ import annotations

import pytest

from gnomon.cli.main import main
from gnomon.server.dynamic_config import (
    HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW,
    HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW,
    DynamicConfig,
    DynamicConfigError,
)


def test_defaults_are_the_references() -> None:
    config = DynamicConfig()
    assert config.get(HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW) == 4096
    assert config.get(HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW) == 4 * 1024 * 1024


def test_parsed_values_override_defaults_and_unknown_keys_are_ignored() -> None:
    config = DynamicConfig.parse(
        ["limit.historyCount.suggestContinueAsNew=10", "system.enableEagerWorkflowStart=true", 'other.key="x=y"']
    )
    assert config.get(HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW) == 10
    assert config.get(HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW) == 4 * 1024 * 1024
    assert config.ignored == ["system.enableEagerWorkflowStart", "other.key"]


@pytest.mark.parametrize(
    ("pair", "problem"),
    [
        ("limit.historyCount.suggestContinueAsNew", "is not KEY=VALUE"),
        ("=10", "is not KEY=VALUE"),
        ("limit.historyCount.suggestContinueAsNew=ten", "is not a JSON value"),
        ('limit.historyCount.suggestContinueAsNew="10"', "must be int"),
        ("limit.historyCount.suggestContinueAsNew=true", "must be int"),
        ("limit.historyCount.suggestContinueAsNew=1.5", "must be int"),
    ],
)
def test_bad_values_are_refused(pair: str, problem: str) -> None:
    with pytest.raises(DynamicConfigError, match=problem):
        DynamicConfig.parse([pair])


def test_the_cli_refuses_a_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["server", "start", "--in-memory", "--dynamic-config-value", "limit.historySize.suggestContinueAsNew=x"])
    assert exited.value.code == 2
    assert "limit.historySize.suggestContinueAsNew: 'x' is not a JSON value" in capsys.readouterr().err
