maj<#NOW(years=-1, Months=2)
