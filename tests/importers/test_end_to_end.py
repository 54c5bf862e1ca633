"""Simulated shop → Shopify, Klaviyo and Postscript exports → ``smsseg import`` → the pipeline.

The exports are rendered from a generated shop (:mod:`smsseg.importers.examples`), with the
Shopify customers export stale on purpose: it still says "yes" to SMS for every customer who
opted out through Postscript. Importing them must give back the shop's orders, and the send plan
built on the import must never text those customers.
"""

import pandas as pd
import pytest

from smsseg.importers.examples import write_example_exports
from tests.tiny_shop import FAST_TRAIN, ok

START, END, AS_OF = "2025-01-01", "2025-12-31", "2025-12-31"
EXPORTED_AT = "2026-01-01T00:00:00Z"
GOALS = ["re_engage_inactive", "reduce_churn", "protect_high_value", "drive_repeat_purchases",
         "improve_engagement", "recover_abandoned_carts"]  # fmt: skip


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    shop, exports, data = root / "shop", root / "exports", root / "data"
    ok("generate", "--out", shop, "--customers", 150, "--seed", 11, "--start", START,
       "--end", END)  # fmt: skip
    files = write_example_exports(shop, exports)
    common = ["--out", data, "--exported-at", EXPORTED_AT]
    ok("import", "shopify", "--orders", files["orders"], "--customers", files["customers"],
       "--products", files["products"], *common)  # fmt: skip
    ok("import", "klaviyo", "--profiles", files["profiles"], "--events", files["events"], *common)
    imported = ok("import", "sms-platform", "--preset", "postscript", "--file",
                  files["postscript"], *common)  # fmt: skip
    ok("validate", "--data", data)
    ok("features", "--data", data, "--as-of", AS_OF, "--out", root / "features.parquet")
    ok("train", "--data", data, "--as-of", AS_OF, "--model", root / "model", *FAST_TRAIN)
    ok("score", "--data", data, "--as-of", AS_OF, "--model", root / "model",
       "--out", root / "scores.parquet")  # fmt: skip
    ok("segment", "--data", data, "--as-of", AS_OF, "--scores", root / "scores.parquet",
       "--out", root / "segments", "--no-mlflow", "--stability-boot", "0")  # fmt: skip
    ok("plan", "--segments", root / "segments", "--data", data, "--as-of", AS_OF,
       *[x for g in GOALS for x in ("--goal", g)], "--out", root / "plan")  # fmt: skip
    return {"root": root, "shop": shop, "exports": exports, "data": data, "imported": imported}


def test_import_gives_back_the_shops_orders(pipeline):
    original = pd.read_parquet(pipeline["shop"] / "orders.parquet")
    imported = pd.read_parquet(pipeline["data"] / "orders.parquet")
    original = original.assign(order_id="#" + original["order_id"]).set_index("order_id")
    imported = imported.set_index("order_id").loc[original.index]
    for column in ("customer_id", "status"):
        assert imported[column].tolist() == original[column].tolist(), column
    expected_times = original["ordered_at"].dt.floor("s").to_numpy(dtype="datetime64[ns]")
    assert (imported["ordered_at"].to_numpy(dtype="datetime64[ns]") == expected_times).all()
    assert imported["amount"].to_numpy() == pytest.approx(original["amount"].round(2).to_numpy())
    lines = pd.read_parquet(pipeline["data"] / "order_items.parquet")
    assert len(lines) == len(pd.read_parquet(pipeline["shop"] / "order_items.parquet"))


def test_plan_never_texts_a_customer_whose_opt_out_only_the_sms_platform_knew(pipeline):
    shopify = pd.read_csv(pipeline["exports"] / "shopify_customers.csv", dtype=str)
    postscript = pd.read_csv(pipeline["exports"] / "postscript_subscribers.csv", dtype=str)
    opted_out_phones = set(postscript.loc[postscript["opt_out_time"].notna(), "phone_number"])
    stale = shopify[shopify["Phone"].isin(opted_out_phones)
                    & (shopify["Accepts SMS Marketing"] == "yes")]  # fmt: skip
    stale_ids = set(stale["Customer ID"])
    assert stale_ids  # the case is in the data
    plan = pd.read_parquet(pipeline["root"] / "plan" / "plan.parquet")
    audiences = pd.concat(
        [pd.read_csv(f, dtype=str) for f in (pipeline["root"] / "plan" / "audiences").glob("*.csv")]
    )
    assert len(audiences) > 0  # the plan does text people
    assert not stale_ids & set(audiences["customer_id"])
    assert not stale_ids & set(plan["customer_id"])
    assert "contradicted by a dated opt-out" in pipeline["imported"].text
