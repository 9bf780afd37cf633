gare centrale
