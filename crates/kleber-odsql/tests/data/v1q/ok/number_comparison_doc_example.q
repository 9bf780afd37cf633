total>=2002
