position:1
