théâtre 😀
