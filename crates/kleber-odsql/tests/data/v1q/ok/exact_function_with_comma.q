#exact(nom, "A, B")
