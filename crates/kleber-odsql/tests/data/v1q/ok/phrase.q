"gare centrale"
