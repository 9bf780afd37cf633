taux<0.5
