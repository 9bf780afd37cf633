and:x
