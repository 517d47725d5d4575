//go:build !race

package mp

// raceBuild: see shm_race.go.
const raceBuild = false
