jour:2019
