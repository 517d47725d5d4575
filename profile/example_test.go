package profile_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/braid-go/braid/profile"
)

// Measure one call inside a program: is this step CPU-bound or I/O-bound,
// and which model fits it?
func ExampleFunc() {
	rep, err := profile.Func(context.Background(), func(ctx context.Context) error {
		select { // stands for the work to measure: here, waiting on a timer
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil
	})
	if err != nil {
		fmt.Println("the function failed:", err)
		return
	}
	fmt.Fprint(os.Stderr, rep) // the figures, the verdict, the model, the questions
	fmt.Println(rep.Verdict.Class)
	// Output: io-bound
}
