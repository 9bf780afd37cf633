total:[1 TO 2
