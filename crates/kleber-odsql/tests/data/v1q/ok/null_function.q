#null(nom)
