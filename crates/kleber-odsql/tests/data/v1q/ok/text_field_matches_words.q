nom:Gare
