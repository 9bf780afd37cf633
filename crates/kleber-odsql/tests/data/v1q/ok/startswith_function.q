#startswith(nom,"Ga")
