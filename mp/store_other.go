//go:build !amd64

package mp

import "sync/atomic"

// storeRelease stores v at p, ordered after every store before it (see
// store_amd64.go): an atomic store, which on arm64 is a store-release.
func storeRelease(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
