nom=Gare
