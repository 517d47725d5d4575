//go:build !unix

package profile

import "os"

const rusageSupported = false

type usage struct {
	user, sys     float64
	nvcsw, nivcsw int64
	maxRSSBytes   int64
	ok            bool
}

func processUsage(ps *os.ProcessState) usage { return usage{} }

func selfUsage() usage { return usage{} }
