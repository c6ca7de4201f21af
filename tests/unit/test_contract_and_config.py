import pytest

from csvflow.config import Settings
from csvflow.domain.contract import parse_contract
from csvflow.domain.model import ColumnType
from csvflow.exceptions import ConfigurationError, InvalidContract


def test_a_full_contract_parses(tmp_path):
    contract = parse_contract(
        (
            __import__("pathlib").Path(__file__).parents[2] / "examples/contracts/sales.yaml"
        ).read_text(),
        source="sales.yaml",
        dataset="sales",
    )
    assert contract.column("unit_price").type is ColumnType.DECIMAL
    assert contract.max_rejected_share == 0.01
    assert [a.name for a in contract.aggregates] == ["sales_by_region", "sales_by_region_product"]


def test_json_contracts_parse_too():
    contract = parse_contract(
        '{"columns": [{"name": "a", "type": "int"}], "delimiter": "tab"}',
        source="c.json",
        dataset="d",
    )
    assert contract.delimiter == "\t"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [{name: a, type: integer}]", "columns[0].type: type must be one of"),
        ("columns: [{name: a, colour: red}]", "unknown key(s) colour"),
        ("max_rejected_share: 2", "max_rejected_share"),
        ("columns: [{name: a, pattern: '('}]", "pattern does not compile"),
        (
            "aggregates: [{name: x, group_by: [a], metrics: [{column: b, op: median}]}]",
            "op must be",
        ),
        ("delimiter: '/'", "delimiter"),
        ("- just a list", "mapping"),
        ("a: [", "not valid YAML"),
    ],
)
def test_contract_errors_name_the_file_and_place(text, message):
    with pytest.raises(InvalidContract) as caught:
        parse_contract(text, source="contracts/sales.yaml", dataset="sales")
    assert str(caught.value).startswith("contracts/sales.yaml")
    assert message in str(caught.value)


def test_settings_name_every_missing_variable():
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ(
            {}, required=["state_machine_arn"], one_of=[["database_url", "db_secret_arn"]]
        )
    assert str(caught.value) == (
        "missing environment variable(s): CSVFLOW_STATE_MACHINE_ARN, "
        "DATABASE_URL or CSVFLOW_DB_SECRET_ARN"
    )


def test_settings_read_prefixes_and_keep_defaults():
    settings = Settings.from_environ({"CSVFLOW_WORK_PREFIX": "tmp/", "UNRELATED": "x"})
    assert settings.work_prefix == "tmp/"
    assert settings.contracts_prefix == "contracts/"


def test_the_default_reject_limits_for_files_without_a_contract_are_read_from_the_environment():
    assert (Settings().max_rejected_share, Settings().max_rejected_rows) == (0.01, 5)
    settings = Settings.from_environ(
        {"CSVFLOW_MAX_REJECTED_SHARE": "0.05", "CSVFLOW_MAX_REJECTED_ROWS": "0"}
    )
    assert (settings.max_rejected_share, settings.max_rejected_rows) == (0.05, 0)


@pytest.mark.parametrize("value", ["2", "-0.1", "a lot"])
def test_a_reject_share_outside_0_to_1_is_refused_at_cold_start(value):
    with pytest.raises(ConfigurationError, match="CSVFLOW_MAX_REJECTED_SHARE must be a number"):
        Settings.from_environ({"CSVFLOW_MAX_REJECTED_SHARE": value})


def test_a_contract_without_max_rejected_share_allows_none_and_no_contract_defers_to_settings():
    from csvflow.domain.model import no_contract

    assert parse_contract("{}", source="c.yaml", dataset="d").max_rejected_share == 0.0
    assert no_contract("d").max_rejected_share is None
