#search(nom,"gar")
