AND a
