"""``smsseg import`` on the command line: the report, and errors as one paragraph."""

from tests.importers.helpers import EXPORTED_AT, fixture
from tests.tiny_shop import invoke


def test_shopify_command_prints_the_report_and_the_tables(tmp_path):
    result = invoke("import", "shopify", "--orders", fixture("shopify_orders.csv"),
                    "--customers", fixture("shopify_customers.csv"), "--out", tmp_path / "d",
                    "--exported-at", EXPORTED_AT)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "valid:" in result.text and "orders (7 rows)" in result.text
    assert "dropped" in result.text and "guessed" in result.text
    assert "+1212" not in result.output  # no phone in full


def test_a_missing_file_is_one_error_line_and_exit_1(tmp_path):
    result = invoke("import", "shopify", "--orders", tmp_path / "nope.csv", "--out", tmp_path / "d")
    assert result.exit_code == 1
    assert "error: Shopify orders file" in result.text and "does not exist" in result.text
    assert "Traceback" not in result.output
    assert not (tmp_path / "d").exists()


def test_an_sms_platform_without_shopify_orders_is_refused(tmp_path):
    result = invoke("import", "sms-platform", "--file", fixture("postscript_subscribers.csv"),
                    "--out", tmp_path / "d", "--exported-at", EXPORTED_AT)  # fmt: skip
    assert result.exit_code == 1
    assert "the data contract requires orders" in result.text
