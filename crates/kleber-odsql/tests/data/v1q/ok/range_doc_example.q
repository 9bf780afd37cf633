total:[1950 TO 2000]
