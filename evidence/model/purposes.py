"""The purposes for which a camera may be authorised (Code de la sécurité intérieure L251-2).

Codes are stable identifiers stored in events; labels are for French-speaking users.
"""

from typing import Final

PURPOSES: Final[dict[str, str]] = {
    "public_buildings": "Protection des bâtiments et installations publics et de leurs abords",
    "national_defence": "Sauvegarde des installations utiles à la défense nationale",
    "traffic_regulation": "Régulation des flux de transport",
    "traffic_offences": "Constatation des infractions aux règles de la circulation",
    "crime_prevention": (
        "Prévention des atteintes à la sécurité des personnes et des biens dans des lieux "
        "particulièrement exposés à des risques d'agression, de vol ou de trafic de stupéfiants"
    ),
    "terrorism_prevention": "Prévention d'actes de terrorisme",
    "natural_risks": "Prévention des risques naturels ou technologiques",
    "rescue_fire": "Secours aux personnes et défense contre l'incendie",
    "amusement_parks": (
        "Sécurité des installations accueillant du public dans les parcs d'attraction"
    ),
    "vehicle_insurance": "Respect de l'obligation d'être couvert par une assurance automobile",
    "illegal_dumping": "Prévention et constatation des infractions relatives à l'abandon d'ordures",
}

LEGAL_BASES: Final[dict[str, str]] = {
    "flagrance": "Enquête de flagrance",
    "enquete_preliminaire": "Enquête préliminaire",
    "information_judiciaire": "Information judiciaire",
}

#: CSI L252-5: recordings are destroyed within one month at most.
MAX_RETENTION_DAYS: Final = 30
