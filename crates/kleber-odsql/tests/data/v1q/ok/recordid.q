recordid:abc
