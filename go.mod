module github.com/bsdnet/bsdnet

go 1.26
