park*
