#null(nom, total)
