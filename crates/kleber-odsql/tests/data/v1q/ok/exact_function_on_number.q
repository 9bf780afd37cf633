#exact(total, "12")
