module vettest

go 1.26.0

require github.com/braid-go/braid v0.0.0

require golang.org/x/sys v0.49.0 // indirect

replace github.com/braid-go/braid => ../..
