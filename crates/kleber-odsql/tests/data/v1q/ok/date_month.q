jour:2019/09
