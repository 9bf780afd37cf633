#distance(nom,"48,7",10)
