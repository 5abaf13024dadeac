"""The command line's help in French: the people who read ``scelle --help`` are municipal
operators, officers and inspectors. Docstrings stay English for developers; this table is
what ``--help`` shows, applied once to the assembled application by ``apply_french_help``.
"""

from __future__ import annotations

import typer

HELP_FR: dict[str, str] = {
    "demo": "Démonstration complète sur un répertoire de démo, vérifiée de bout en bout.",
    "serve": "Servir l'API ; lance aussi la purge planifiée, les vues et le dossier surveillé.",
    "record": "Enregistrer un flux RTSP : chaque segment clos est versé ; ffmpeg relancé "
    "si le flux tombe.",
    "purge": "Détruire (effacement de clé) chaque segment échu et non conservé.",
    "stats": "Statistiques mensuelles ouvertes (aucune donnée personnelle), en JSON.",
    "anomalies": "Anomalies pour le comité d'éthique : hors mission, hors horaires, levées "
    "répétées, rafales de refus.",
    "init": "Initialiser le répertoire de données et créer la clé de signature du journal "
    "(mode 0600).",
    "seal": "Sceller les événements pas encore scellés ; avec --follow, continuer jusqu'à l'arrêt.",
    "checkpoint": "Afficher un point de contrôle signé frais (note signée C2SP).",
    "prove": "Écrire une preuve d'inclusion (tlog-proof C2SP) d'un événement, ou de cohérence.",
    "verify store": "Vérifier chaque événement, la chaîne, l'arbre et chaque point de contrôle.",
    "verify proof": "Vérifier hors ligne un fichier de preuve.",
    "verify package": "Vérifier hors ligne un paquet de preuve (mêmes verdicts que "
    "verify_package.py).",
    "verify report": "Vérifier hors ligne un rapport de purge ; nommer tout segment purgé en "
    "retard ou jamais.",
    "ingest files": "Verser une fois des fichiers de segments terminés.",
    "ingest watch": "Surveiller un dossier et verser chaque segment terminé, jusqu'à Ctrl-C.",
    "ingest record": "Enregistrer un flux RTSP : chaque segment clos est versé ; ffmpeg "
    "relancé si le flux tombe.",
    "keys rotate": "Rechiffrer chaque clé de contenu sous une nouvelle clé maîtresse et "
    "effacer l'ancienne.",
    "render masked": "Produire (une fois) la copie masquée d'un segment ; l'écrire si demandé.",
    "render redact": "Écrire un extrait où chacun est flouté sauf les personnes désignées.",
    "requisition register": "Enregistrer une réquisition (officier de police judiciaire).",
    "requisition approve": "Approuver une réquisition (double contrôle) et conserver chaque "
    "segment qu'elle couvre.",
    "requisition list": "Lister les réquisitions et leur état.",
    "export request": "Demander un export dans le cadre d'une réquisition (hors périmètre : "
    "refusé et consigné).",
    "export approve": "Approuver un export (double contrôle : pas la personne qui l'a demandé).",
    "export produce": "Construire le paquet signé (répertoire et zip), le vérifier, consigner "
    "sa production.",
    "export deliver": "Consigner la remise du paquet.",
    "users add": "Créer un compte avec un rôle dans les communes données, et son mot de passe.",
    "users passwd": "Changer le mot de passe ; tous les jetons du compte sont révoqués et son "
    "blocage levé.",
    "users grant": "Attribuer un rôle (ou en changer le périmètre).",
    "users revoke": "Retirer un rôle ; les sessions ouvertes du compte sont révoquées.",
    "users list": "Comptes avec mot de passe, leurs rôles et communes (codes INSEE).",
    "users unlock": "Lever un blocage après des échecs répétés.",
    "report purges": "Écrire le rapport de purge d'une commune pour une période (répertoire "
    "ou zip).",
    "audit storage": "Parcourir la table des clés et le stockage ; code 0 si tout est propre, "
    "1 sinon.",
    "hold place": "Conserver chaque segment de ces caméras sur cette plage.",
    "hold requisition": "Conserver chaque segment du périmètre d'une réquisition.",
    "hold extend": "Repousser l'échéance d'une conservation.",
    "hold release": "Lever une conservation : la prochaine purge détruit ce qui est échu.",
    "communes add": "Enregistrer une commune (collectivité servie par le centre).",
    "cameras add": "Enregistrer une caméra sous son autorisation préfectorale.",
    "cameras retention": "Changer la durée de conservation d'une caméra (dans son "
    "autorisation, un mois au plus).",
    "cameras list": "Afficher des caméras avec leur autorisation et leur conservation.",
    "projections update": "Appliquer aux vues les nouveaux événements du journal.",
    "projections rebuild": "Reconstruire toutes les vues depuis rien (nouveau fichier, "
    "substitué une fois complet).",
    "projections show": "Afficher une vue (telle qu'à un instant avec --as-of).",
    "projections export": "Écrire le journal des accès et le registre des purges en Parquet.",
}


def command_paths(app: typer.Typer, prefix: str = "") -> list[tuple[str, typer.models.CommandInfo]]:
    """Every command of the application with its full path (``verify store``)."""
    found = []
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        found.append((f"{prefix}{name}", info))
    for group in app.registered_groups:
        if group.typer_instance is not None:
            found += command_paths(group.typer_instance, f"{prefix}{group.name} ")
    return found


def apply_french_help(app: typer.Typer) -> None:
    for path, info in command_paths(app):
        if path in HELP_FR:
            info.help = HELP_FR[path]
