"""``scelle audit storage``: anything kept past its deadline, or with no live segment."""

from __future__ import annotations

import typer

from evidence.retention.audit import audit_storage
from tools.context import console, opened

app = typer.Typer(help="Audits (inspection CNIL) sans voir aucune image.", no_args_is_help=True)

#: Lines listed per category before summarising the rest.
SHOWN = 50


@app.command("storage")
def storage(ctx: typer.Context) -> None:
    """Scan the key table and the object store; exit 0 if clean, 1 otherwise."""
    with opened(ctx) as system:
        audit = audit_storage(system)
    console.print(
        f"Audit au {audit.as_of:%Y-%m-%d %H:%M:%S %Z} : {audit.segments_live} segment(s) "
        f"vivant(s), {audit.blobs} objet(s) stocké(s), {audit.keys} clé(s).",
        markup=False,
    )
    sections = [
        (
            "échu(s) sans mesure de conservation, non détruit(s)",
            [
                f"{o.segment_id} ({o.camera_code}, échéance {o.deadline:%Y-%m-%d %H:%M:%S}"
                + (", purge commencée non achevée)" if o.purge_started else ")")
                for o in audit.overdue
            ],
        ),
        ("objet(s) sans segment vivant", list(audit.orphan_blobs)),
        ("clé(s) sans segment vivant", list(audit.orphan_keys)),
        ("contenu disparu sans purge (alerte d'intégrité)", list(audit.missing)),
    ]
    for title, lines in sections:
        if lines:
            console.print(f"FAIL: {len(lines)} {title} :", markup=False)
            for line in lines[:SHOWN]:
                console.print(f"  {line}", markup=False)
            if len(lines) > SHOWN:
                console.print(f"  … et {len(lines) - SHOWN} autre(s)", markup=False)
    if not audit.clean:
        raise typer.Exit(1)
    console.print("OK: rien n'est conservé au-delà de son échéance, rien n'est orphelin.")
