"""``scelle keys``: administration of the content keys (never shown, never logged)."""

from __future__ import annotations

import typer

from tools.context import console, opened

app = typer.Typer(help="Clés de chiffrement du contenu.", no_args_is_help=True)


@app.command("rotate")
def rotate(ctx: typer.Context) -> None:
    """Re-wrap every data key under a new key-encryption key and shred the old one."""
    with opened(ctx) as system:
        keys = system.vault.keys
        count = len(keys.ids())
        new_id = keys.rotate_kek()
    console.print(
        f"Nouvelle clé de chiffrement des clés : {new_id} ({count} clé(s) ré-emballée(s))."
    )
