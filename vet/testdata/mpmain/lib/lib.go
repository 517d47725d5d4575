// Package lib registers a process function: programs that import it use mp. // want package:"usesMP"
package lib

import (
	"context"

	"github.com/braid-go/braid/mp"
)

// Square runs in a worker process.
var Square = mp.Register("lib.square", func(ctx context.Context, x int) (int, error) { return x * x, nil })

// NewPool starts a pool for Square.
func NewPool() (*mp.Pool, error) { return mp.NewPool() }
