ouvert:peut-etre
