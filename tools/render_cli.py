"""``scelle render …``: masked renditions and redacted extracts from the terminal.

Thin: each command resolves the segment, calls one function of ``ingest.rendition`` and prints
where the result went, in French. Refusals, rendition failures included (``RenditionError``
is a ``DomainError``), become ``ERREUR`` lines through ``tools.context.opened``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.rendition import Designation, masked_segment, redacted_extract
from tools.context import console, fail, opened, parse_uuid

app = typer.Typer(help="Rendus masqués et extraits floutés.", no_args_is_help=True)


def _box(text: str) -> Designation:
    """``FRAME:x0,y0,x1,y1`` (coordinates 0..1)."""
    try:
        frame, coords = text.split(":", 1)
        x0, y0, x1, y1 = (float(v) for v in coords.split(","))
        return Designation(int(frame), (x0, y0, x1, y1))
    except ValueError:
        raise fail(f"désignation {text!r} : attendu IMAGE:x0,y0,x1,y1 (de 0 à 1)") from None


@app.command()
def masked(
    ctx: typer.Context,
    segment: Annotated[str, typer.Argument(help="Identifiant du segment.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Écrire aussi le MP4 ici.")
    ] = None,
) -> None:
    """Make (once) the masked rendition of a segment; optionally write it out."""
    with opened(ctx) as system:
        # refusals: one French line (opened)
        blob = masked_segment(system, parse_uuid(segment, "segment"))
        console.print(f"Copie masquée : {blob} (chiffrée sous la clé du segment)")
        if out is not None:
            if out.exists():
                raise fail(f"{out} existe déjà")
            with out.open("xb") as target:
                for piece in system.vault.iter_range(blob):
                    target.write(piece)
            console.print(f"Écrite dans {out}")


@app.command()
def redact(
    ctx: typer.Context,
    segment: Annotated[str, typer.Argument(help="Identifiant du segment.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Fichier MP4 à écrire.")],
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Personne à laisser visible : IMAGE:x0,y0,x1,y1 (répétable)."),
    ] = None,
) -> None:
    """Write an extract where everyone but the designated people is blurred."""
    designated = [_box(k) for k in keep or []]
    with opened(ctx) as system:
        derivation = redacted_extract(system, parse_uuid(segment, "segment"), designated, out)
    console.print(f"Extrait flouté : {out} (sha256 {derivation.output_sha256})")
