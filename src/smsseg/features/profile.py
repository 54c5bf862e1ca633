"""Customer profile features (location, channel, tenure): one row per customer existing at the cut-off.

This query also defines the population: customers with ``created_at <= as_of``. Profile columns
are the customer's current record (the contract keeps no history of addresses), which is why
they are passed through rather than aggregated over time.
"""

from __future__ import annotations

from smsseg.features.catalogue import AggregateQuery, Feature


def _attr(name: str, description: str, column: str | None = None) -> Feature:
    column = column or name
    return Feature(
        name,
        "str",
        "customers",
        "as of",
        description,
        "profile",
        agg=f"MAX({column})",
        requires=(f"customers.{column}",),
    )


PROFILE_FEATURES = (
    Feature(
        "tenure_days",
        "float",
        "customers",
        "as of",
        "Days since the customer profile was created.",
        "rfm",
        agg="(epoch({as_of}) - epoch(MIN(created_at))) / 86400.0",
    ),
    _attr("country", "ISO 3166-1 alpha-2 country code."),
    _attr("region", "State, province or region."),
    _attr("city", "City of the customer's address."),
    _attr("postal_code", "Postal or ZIP code."),
    _attr("store_id", "Home store, for local marketing."),
    _attr("timezone", "IANA time zone of the customer, as recorded."),
    _attr("preferred_channel", "Preferred channel ('email' means no SMS)."),
    Feature(
        "has_phone",
        "bool",
        "customers",
        "as of",
        "Whether a phone number is on file.",
        "profile",
        agg="BOOL_OR(phone IS NOT NULL)",
        requires=("customers.phone",),
    ),
)

PROFILE_QUERY = AggregateQuery(
    name="customers",
    rows="SELECT * FROM customers WHERE created_at <= {as_of}",
    features=PROFILE_FEATURES,
)
