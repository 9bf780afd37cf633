taux<=1e3
