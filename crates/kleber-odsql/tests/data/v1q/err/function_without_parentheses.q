#null nom
