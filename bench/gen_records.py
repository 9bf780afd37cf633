#!/usr/bin/env python3
"""Generates a realistic city records table as CSV (';'): text, a category of ~20 values,
a commune of ~33 values, numbers, dates over several years, points around Strasbourg.

    python3 bench/gen_records.py ROWS OUT.csv

Deterministic (fixed seed), standard library only.
"""
import random
import sys

CATEGORIES = [
    "Voirie", "Propreté", "Éclairage public", "Espaces verts", "Stationnement", "Bruit",
    "Mobilier urbain", "Tags et affichage", "Animaux", "Eau et assainissement", "Arbres",
    "Signalisation", "Pistes cyclables", "Transports", "Déchets", "Marchés", "Sécurité",
    "Accessibilité", "Chantiers", "Fontaines",
]
COMMUNES = [
    "Strasbourg", "Schiltigheim", "Illkirch-Graffenstaden", "Lingolsheim", "Bischheim",
    "Hœnheim", "Ostwald", "Eckbolsheim", "Vendenheim", "Souffelweyersheim", "Geispolsheim",
    "Holtzheim", "Entzheim", "Oberhausbergen", "Mittelhausbergen", "Niederhausbergen",
    "Wolfisheim", "Oberschaeffolsheim", "Achenheim", "Breuschwickersheim", "Hangenbieten",
    "Kolbsheim", "Blaesheim", "Plobsheim", "Eschau", "Fegersheim", "Lipsheim", "Mundolsheim",
    "Lampertheim", "Eckwersheim", "La Wantzenau", "Reichstett", "Mittelschaeffolsheim",
]
STREETS = ["rue", "avenue", "place", "quai", "route", "allée", "boulevard", "impasse"]
NAMES = ["du Dôme", "de la Division-Leclerc", "Kléber", "des Bateliers", "de Colmar",
         "de la Forêt-Noire", "du Rhin", "des Vosges", "de l'Église", "Gutenberg", "du Marché"]


def main():
    rows = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(2026)
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("id;categorie;commune;adresse;montant;quantite;priorite;date_signalement;position\n")
        for i in range(rows):
            cat = CATEGORIES[int(rng.random() ** 1.5 * len(CATEGORIES))]
            commune = COMMUNES[int(rng.random() ** 2 * len(COMMUNES))]
            adresse = f"{rng.randint(1, 150)} {rng.choice(STREETS)} {rng.choice(NAMES)}"
            montant = f"{rng.random() * 5000:.2f}"
            quantite = rng.randint(0, 200)
            priorite = rng.choice(("basse", "normale", "haute"))
            day = rng.randint(0, 6 * 365)
            y, rem = 2020 + day // 365, day % 365
            m, d = 1 + rem // 31 % 12, 1 + rem % 28
            date = f"{y:04d}-{m:02d}-{d:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00+00:00"
            lat = 48.58 + (rng.random() - 0.5) * 0.2
            lon = 7.75 + (rng.random() - 0.5) * 0.3
            f.write(f"{i};{cat};{commune};{adresse};{montant};{quantite};{priorite};{date};{lat:.6f}, {lon:.6f}\n")


if __name__ == "__main__":
    main()
