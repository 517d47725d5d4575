package mp

// SetPdeathsig switches Pdeathsig on or off for the workers started from
// now on (tests show that the task pipe alone is enough).
func SetPdeathsig(on bool) { usePdeathsig = on }
