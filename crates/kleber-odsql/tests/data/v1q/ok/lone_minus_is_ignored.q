velo - gare
