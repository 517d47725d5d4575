// Command nomp does not use mp: nothing to report.
package main

import "fmt"

func main() { fmt.Println("hello") }
