//go:build race

package mp

// raceBuild: under the race detector an atomic instruction runs inside
// the detector's own code, where a fault cannot be turned into a panic,
// so quick calls take a reference as the other calls do.
const raceBuild = true
