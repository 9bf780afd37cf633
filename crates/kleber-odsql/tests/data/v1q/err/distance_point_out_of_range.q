#distance(position,"91,7",10)
