"" gare
