#search(*,"gar")
