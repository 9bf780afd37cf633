#nope(x)
