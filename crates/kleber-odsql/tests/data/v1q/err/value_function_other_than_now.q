maj>#null(x)
