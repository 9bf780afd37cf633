#polygon(position,"(48,7),(49,7)")
