module github.com/braid-go/braid

go 1.24.0

require golang.org/x/sys v0.40.0

require (
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)
