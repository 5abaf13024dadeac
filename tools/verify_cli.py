"""``scelle verify``: prints ``OK:`` or ``FAIL:`` lines; exit 0 (OK), 1 (FAIL), 2 (usage)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Annotated

import typer

from evidence.bootstrap import ledger_db, read_verifier
from evidence.ledger.checkpoint import MalformedCheckpoint, OriginMismatch
from evidence.ledger.log import LedgerError
from evidence.ledger.merkle import ProofError
from evidence.ledger.note import MalformedNote, NoteError, Verifier
from evidence.ledger.proofs import ProofFileError
from tools.context import console, fail, state
from tools.report_cli import verify_report_command
from tools.verify_package import PackageInvalid, UsageError, verify_package
from tools.verify_proof import (
    ProofVerificationError,
    is_consistency_file,
    verify_consistency_file,
    verify_inclusion_file,
)
from tools.verify_store import StoreVerificationFailed, verify_store

app = typer.Typer(help="Vérifier le journal ou une preuve, hors ligne.", no_args_is_help=True)

#: French labels for each failure kind, for the inspector reading the report.
FAILURE_LABELS = {
    "event-altered": "événement modifié après scellement",
    "events-swapped": "événements intervertis",
    "event-deleted": "événement supprimé",
    "event-inserted": "événement inséré hors scellement",
    "ledger-gap": "trou dans la numérotation des feuilles",
    "ledger-edited": "registre de scellement modifié",
    "node-mismatch": "nœud de l'arbre de Merkle altéré",
    "log-truncated": "journal tronqué",
    "checkpoint-signature": "signature de point de contrôle invalide",
    "checkpoint-malformed": "point de contrôle mal formé",
    "checkpoint-mismatch": "racine signée différente de l'arbre",
    "rollback": "base revenue à un état antérieur",
    "checkpoints-inconsistent": "points de contrôle incohérents",
    "unsealed-events": "événements non encore scellés",
    "no-checkpoint": "aucun point de contrôle signé",
    "ledger-unreadable": "registre illisible",
}


#: Failure kinds of ``verify proof``, with their French labels.
PROOF_FAILURE_LABELS = {
    "proof-malformed": "fichier de preuve mal formé",
    "checkpoint-malformed": "point de contrôle mal formé",
    "checkpoint-signature": "signature de point de contrôle invalide",
    "leaf-mismatch": "feuille ne correspondant pas à l'événement",
    "proof-invalid": "preuve ne menant pas à la racine signée",
}


def proof_failure_kind(exc: Exception) -> str:
    if isinstance(exc, ProofFileError):
        return "proof-malformed"
    if isinstance(exc, MalformedNote | MalformedCheckpoint | OriginMismatch):
        return "checkpoint-malformed"
    if isinstance(exc, NoteError):
        return "checkpoint-signature"
    if isinstance(exc, ProofVerificationError):
        return "leaf-mismatch"
    return "proof-invalid"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"lecture impossible de {path} : {exc}") from None


@app.command("store")
def store(
    ctx: typer.Context,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="Point de contrôle conservé hors de la base."),
    ] = None,
) -> None:
    """Verify every stored event, the chain, the tree and every checkpoint."""
    settings = state(ctx).settings()
    try:
        verifier = read_verifier(settings.log_vkey_path)
    except LedgerError as exc:
        raise fail(str(exc)) from None
    outside = [(_read(p), str(p)) for p in checkpoint or []]
    if settings.checkpoints_dir.is_dir():
        # Copies kept in the data directory are evidence: a damaged one is a FAIL line,
        # not a usage error, so read them whatever their bytes.
        outside += [
            (p.read_bytes().decode("utf-8", "replace"), str(p))
            for p in sorted(settings.checkpoints_dir.glob("*.checkpoint"))
        ]
    try:
        summary = verify_store(ledger_db(settings), verifier, outside)
    except (LookupError, TypeError, ValueError, struct.error) as exc:
        # Fail closed: a ledger too damaged even to be read is a FAIL, never an OK.
        console.print(f"FAIL: [ledger-unreadable] registre illisible — {exc}", markup=False)
        raise typer.Exit(1) from None
    except StoreVerificationFailed as exc:
        for failure in exc.failures:
            console.print(
                f"FAIL: [{failure.kind}] {FAILURE_LABELS.get(failure.kind, '')} — {failure.detail}",
                markup=False,
            )
        raise typer.Exit(1) from None
    console.print(
        f"OK: {summary.events} événements, {summary.leaves} feuilles, chaîne et arbre "
        f"recalculés, {summary.checkpoints} points de contrôle en base et "
        f"{summary.outside_checkpoints} hors base vérifiés.",
        markup=False,
    )


@app.command("proof")
def proof(
    file: Annotated[Path, typer.Argument(help="Fichier de preuve (tlog-proof).")],
    vkey: Annotated[str, typer.Option(help="Clé publique du journal, ou fichier la contenant.")],
    event_state: Annotated[
        Path | None, typer.Option("--state", help="Octets stockés de l'événement.")
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Ancien point de contrôle (preuve de cohérence)."),
    ] = None,
) -> None:
    """Check one proof file offline."""
    text = _read(file)
    key_text = _read(Path(vkey)) if Path(vkey).is_file() else vkey
    try:
        verifier = Verifier.from_vkey(key_text.strip())
    except NoteError as exc:
        raise fail(f"clé publique invalide : {exc}") from None
    try:
        if is_consistency_file(text):
            if checkpoint is None:
                raise fail("une preuve de cohérence se vérifie avec --checkpoint ANCIEN")
            c = verify_consistency_file(text, verifier, _read(checkpoint))
            console.print(
                f"OK: l'arbre de {c.new_size} feuilles prolonge celui de {c.old_size} feuilles.",
                markup=False,
            )
            return
        state_bytes = event_state.read_bytes() if event_state else None
        v = verify_inclusion_file(text, verifier, state_bytes)
    except (ProofError, NoteError, ProofFileError, ProofVerificationError, ValueError) as exc:
        kind = proof_failure_kind(exc)
        console.print(f"FAIL: [{kind}] {PROOF_FAILURE_LABELS[kind]} — {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(
        f"OK: notification {v.leaf.notification_id} ({v.leaf.topic} v"
        f"{v.leaf.originator_version} de {v.leaf.originator_id}) est la feuille {v.index} "
        f"de l'arbre signé de {v.tree_size} feuilles.",
        markup=False,
    )


@app.command("package")
def package(
    path: Annotated[Path, typer.Argument(help="Paquet de preuve : répertoire ou .zip.")],
    vkey: Annotated[
        str | None, typer.Option(help="Clé publique de confiance du journal, ou son fichier.")
    ] = None,
) -> None:
    """Check an evidence package offline (the same verdicts as verify_package.py)."""
    trusted = _read(Path(vkey)) if vkey and Path(vkey).is_file() else vkey
    try:
        verdict = verify_package(path, trusted)
    except UsageError as exc:
        raise fail(str(exc)) from None
    except PackageInvalid as exc:
        for failure in exc.failures:
            console.print(failure.line(), markup=False)
        raise typer.Exit(1) from None
    console.print(verdict.line(), markup=False)


app.command("report")(verify_report_command)
