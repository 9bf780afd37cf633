#!/usr/bin/env python3
"""Generates a catalog of dataset descriptions as a city portal has them, and a tiny CSV file
for each dataset (5 to 60 rows, 3 to 6 columns):

    python3 bench/gen_catalog.py COUNT OUT_DIR

writes OUT_DIR/catalog.jsonl (one line per dataset: dataset_id, title, description, publisher,
theme, keyword, file) and OUT_DIR/files/<dataset_id>.csv. Deterministic (fixed seed), standard
library only.
"""
import json
import random
import sys
from pathlib import Path

THEMES = {
    "Mobilité": ["Stationnement", "Parkings relais", "Vélhop", "Pistes cyclables", "Comptages vélo",
                 "Trafic routier", "Arrêts de tram", "Lignes de bus", "Bornes de recharge",
                 "Autopartage", "Zones 30", "Travaux de voirie"],
    "Environnement": ["Qualité de l'air", "Arbres d'alignement", "Espaces verts", "Bruit routier",
                      "Collecte des déchets", "Points d'apport volontaire", "Compost",
                      "Îlots de chaleur", "Consommation d'eau", "Zones humides"],
    "Culture": ["Bibliothèques", "Musées", "Agenda culturel", "Monuments historiques",
                "Fréquentation des médiathèques", "Salles de spectacle", "Œuvres d'art public"],
    "Population": ["Recensement", "Naissances", "Prénoms", "Pyramide des âges", "Ménages",
                   "Quartiers prioritaires"],
    "Économie": ["Marchés publics", "Subventions aux associations", "Commerces", "Emploi",
                 "Budget primitif", "Compte administratif", "Taxe de séjour"],
    "Services": ["Toilettes publiques", "Défibrillateurs", "Écoles", "Crèches",
                 "Piscines", "Gymnases", "Mairies de quartier", "Wi-Fi public"],
    "Urbanisme": ["Permis de construire", "Cadastre", "Plan local d'urbanisme", "Adresses",
                  "Bâtiments", "Logements sociaux"],
    "Énergie": ["Éclairage public", "Réseau de chaleur", "Panneaux solaires",
                "Consommation électrique des bâtiments"],
}
PLACES = ["Strasbourg", "Eurométropole de Strasbourg", "Schiltigheim", "Illkirch-Graffenstaden",
          "Lingolsheim", "Bischheim", "Ostwald", "Neudorf", "Krutenau", "Robertsau", "Cronenbourg",
          "Hautepierre", "Esplanade", "Meinau", "Koenigshoffen", "Port du Rhin"]
PUBLISHERS = ["Ville de Strasbourg", "Eurométropole de Strasbourg", "Compagnie des Transports "
              "Strasbourgeois", "ATMO Grand Est", "Région Grand Est", "Collectivité européenne "
              "d'Alsace", "Port autonome de Strasbourg", "Université de Strasbourg"]
FREQ = ["en temps réel", "chaque jour", "chaque semaine", "chaque mois", "chaque année",
        "à chaque conseil municipal", "ponctuellement"]
WHAT = ["la localisation", "l'état", "le nombre", "les horaires", "la fréquentation",
        "les caractéristiques", "le montant", "l'historique", "la capacité"]
EXTRA = [
    "Les coordonnées sont exprimées en WGS84.",
    "Les données sont issues des capteurs installés sur le territoire.",
    "Ce jeu de données est produit par le service SIG.",
    "Les valeurs manquantes correspondent à des capteurs hors service.",
    "Une ligne correspond à un équipement.",
    "Les montants sont exprimés en euros TTC.",
    "La mise à jour est automatique.",
    "Voir aussi les jeux de données associés sur le portail.",
    "Données diffusées sous licence ouverte.",
    "Les adresses ont été géocodées à partir de la base adresse nationale.",
]
COLUMNS = [("nom", "text"), ("adresse", "text"), ("commune", "text"), ("valeur", "double"),
           ("nombre", "int"), ("date", "date"), ("statut", "text"), ("position", "point")]


def value(rng, kind, i):
    if kind == "text":
        return f"{rng.choice(PLACES)} {i}"
    if kind == "double":
        return f"{rng.random() * 1000:.2f}"
    if kind == "int":
        return str(rng.randint(0, 500))
    if kind == "date":
        return f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"\"{48.58 + (rng.random() - 0.5) * 0.2:.5f}, {7.75 + (rng.random() - 0.5) * 0.3:.5f}\""


def main():
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    (out / "files").mkdir(parents=True, exist_ok=True)
    rng = random.Random(4242)
    with open(out / "catalog.jsonl", "w", encoding="utf-8") as catalog:
        for n in range(count):
            theme = rng.choice(list(THEMES))
            subject = rng.choice(THEMES[theme])
            place = rng.choice(PLACES)
            year = rng.randint(2012, 2025)
            title = f"{subject} - {place}" + (f" - {year}" if rng.random() < 0.5 else "")
            dataset_id = f"ds-{n:05d}"
            description = (
                f"<p>{subject} : {rng.choice(WHAT)} et {rng.choice(WHAT)} pour {place}, "
                f"mis à jour {rng.choice(FREQ)}.</p><p>" + " ".join(rng.sample(EXTRA, 3)) +
                f" Période couverte : {year} à {min(2025, year + rng.randint(0, 6))}.</p>")
            keywords = rng.sample([s.lower() for s in THEMES[theme]], 2) + [place.lower()]
            columns = rng.sample(COLUMNS, rng.randint(3, 6))
            rows = rng.randint(5, 60)
            path = out / "files" / f"{dataset_id}.csv"
            with open(path, "w", encoding="utf-8") as f:
                f.write(",".join(c for c, _ in columns) + "\n")
                for i in range(rows):
                    f.write(",".join(value(rng, kind, i) for _, kind in columns) + "\n")
            catalog.write(json.dumps({
                "dataset_id": dataset_id, "title": title, "description": description,
                "publisher": rng.choice(PUBLISHERS), "theme": [theme], "keyword": keywords,
                "file": str(path)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
