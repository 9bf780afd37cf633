#distance(position,"48.58,7.75",500)
