inconnu:1
