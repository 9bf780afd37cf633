(nom:Gare OR #null(nom)) AND total:[1 TO 10] -ferme
