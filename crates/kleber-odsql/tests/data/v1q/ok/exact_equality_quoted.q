nom=="Gare \"X\""
