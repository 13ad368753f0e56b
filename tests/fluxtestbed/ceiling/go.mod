module fluxpy.test/ceiling

go 1.26
