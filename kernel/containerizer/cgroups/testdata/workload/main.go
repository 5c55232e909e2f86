// Command workload is what the cgroups tests run inside containers: it
// allocates -mb MiB, touching every page so that the memory is charged, and
// then spins on a cpu (-spin) or sleeps. It is built without the race
// detector, whose shadow memory would blur the memory figures.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var sink [][]byte

func main() {
	mb := flag.Int("mb", 0, "MiB to allocate and touch")
	spin := flag.Bool("spin", false, "burn cpu instead of sleeping")
	flag.Parse()
	for range *mb {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		sink = append(sink, b)
	}
	if *spin {
		for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
			if x == 0 {
				fmt.Fprintln(os.Stderr, len(sink))
			}
		}
	}
	for {
		time.Sleep(time.Hour)
	}
}
