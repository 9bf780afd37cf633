ouvert:0
