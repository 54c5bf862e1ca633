"""``smsseg import``: Shopify, Klaviyo and SMS-platform exports into a validated data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from smsseg.cli.app import app, console, handle_errors

import_app = typer.Typer(
    no_args_is_help=True,
    help="Turn Shopify, Klaviyo and SMS-platform exports into a validated data directory.",
)
app.add_typer(
    import_app,
    name="import",
    help="Turn Shopify, Klaviyo and SMS-platform exports into a validated data directory.",
)

Out = Annotated[
    Path,
    typer.Option(help="Data directory to write, or one an earlier import wrote (merged into)."),
]
ExportedAt = Annotated[
    str | None,
    typer.Option(
        help="When the export was taken (ISO, e.g. 2025-06-30T12:00:00Z); dates undated "
        "consent. Default: the file's modification time (stated in the report)."
    ),
]
DefaultCountry = Annotated[
    str | None,
    typer.Option(help="ISO country for phones without +country code on rows without an address."),
]
UndatedConsent = Annotated[
    bool,
    typer.Option(
        help="Write undated current-state SMS consent as an opt-in at the export time (only "
        "where no dated history exists); --no-undated-consent leaves it out."
    ),
]


def print_result(result) -> None:
    """The import report (counted lines) and the tables written."""
    table = Table(box=box.SIMPLE, title="import report", title_justify="left")
    for column in ("kind", "source", "count", "what (examples)"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for line in result.report.sorted_lines():
        examples = f" — e.g. {', '.join(line.examples)}" if line.examples else ""
        table.add_row(line.kind, line.source, f"{line.count:,}", f"{line.what}{examples}")
    console.print(table)
    counts = ", ".join(f"{name} ({rows:,} rows)" for name, rows in result.row_counts.items())
    console.print(
        f"[green]valid:[/] {result.out}: {counts}; sources: {', '.join(result.sources)}; "
        f"report in {result.out / '_import' / 'report.json'}",
        highlight=False,
    )


@import_app.command("shopify")
@handle_errors
def shopify(
    orders: Annotated[Path, typer.Option(help="Shopify 'Export orders' CSV.")],
    out: Out,
    customers: Annotated[Path | None, typer.Option(help="Shopify 'Export customers' CSV.")] = None,
    products: Annotated[
        Path | None, typer.Option(help="Shopify 'Export products' CSV (categories by SKU).")
    ] = None,
    exported_at: ExportedAt = None,
    default_country: DefaultCountry = None,
    undated_consent: UndatedConsent = True,
) -> None:
    """Shopify orders (+ customers, products): orders by Name, refunds, consent at export time."""
    from smsseg.importers import import_shopify

    print_result(
        import_shopify(out, orders, customers, products, exported_at=exported_at,
                       default_country=default_country, undated_consent=undated_consent)
    )  # fmt: skip


@import_app.command("klaviyo")
@handle_errors
def klaviyo(
    out: Out,
    profiles: Annotated[Path | None, typer.Option(help="Klaviyo profile export CSV.")] = None,
    events: Annotated[
        Path | None, typer.Option(help="Klaviyo events: GET /api/events JSON, or JSONL of it.")
    ] = None,
    exported_at: ExportedAt = None,
    default_country: DefaultCountry = None,
    undated_consent: UndatedConsent = True,
) -> None:
    """Klaviyo profiles (dated SMS consent) and events (browsing, SMS); merged by e-mail/phone."""
    from smsseg.importers import import_klaviyo

    print_result(
        import_klaviyo(out, profiles, events, exported_at=exported_at,
                       default_country=default_country, undated_consent=undated_consent)
    )  # fmt: skip


@import_app.command("sms-platform")
@handle_errors
def sms_platform(
    file: Annotated[Path, typer.Option(help="The platform's subscribers or events CSV.")],
    out: Out,
    preset: Annotated[
        str, typer.Option(help="postscript (subscribers), attentive (data feed) or custom.")
    ] = "postscript",
    map_file: Annotated[
        Path | None,
        typer.Option("--map", help="TOML overriding the preset's headers and event values."),
    ] = None,
    exported_at: ExportedAt = None,
    default_country: DefaultCountry = None,
) -> None:
    """Postscript / Attentive (or any mapped CSV): dated opt-ins, opt-outs, sends and clicks."""
    from smsseg.importers import import_sms_platform

    print_result(
        import_sms_platform(out, file, preset, map_file, exported_at=exported_at,
                            default_country=default_country)
    )  # fmt: skip


@import_app.command("csv")
@handle_errors
def csv(
    file: Annotated[Path, typer.Option(help="Any CSV export (a till, a loyalty app, a log).")],
    map_file: Annotated[
        Path,
        typer.Option(
            "--map", help="TOML naming the source, its table, its headers and value maps."
        ),
    ],
    out: Out,
    exported_at: ExportedAt = None,
    default_country: DefaultCountry = None,
) -> None:
    """Any CSV into one contract table, as a mapping file describes it (docs/import.md)."""
    from smsseg.importers import import_csv

    print_result(
        import_csv(out, file, map_file, exported_at=exported_at, default_country=default_country)
    )
